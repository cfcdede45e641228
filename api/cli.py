"""The ``stagecraft`` command line (``api.cli:app``): the frame from :mod:`api.cli_base` with the
blueprint commands and then the workflow commands registered on it, in that order."""

from __future__ import annotations

import api.cli_broadcasts  # registers broadcast send|list|show
import api.cli_data  # registers import, export-records
import api.cli_demo  # registers demo
import api.cli_tokens  # noqa: F401  (registers token create|list|revoke)
from api import cli_blueprints, cli_workflow  # noqa: F401  (registers the commands)
from api.cli_base import app, describe_failure

__all__ = ["app", "describe_failure"]


if __name__ == "__main__":
    app()
