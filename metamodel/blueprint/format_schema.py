"""The published JSON Schema of the blueprint format (metamodel/schemas/blueprint.schema.json).

It is hand-written for editors (descriptions, completion); the checker stays
the authority.  Tests keep the two in step: every valid blueprint must pass the
schema, and the schema must name exactly the keys the loader accepts.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

BLUEPRINT_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "blueprint.schema.json"


@cache
def blueprint_format_schema() -> dict[str, Any]:
    """The blueprint format's JSON Schema, parsed once."""
    loaded: dict[str, Any] = json.loads(BLUEPRINT_SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
