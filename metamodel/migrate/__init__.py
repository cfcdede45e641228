"""Blueprint migrations: plan, apply, export and purge a workspace's metadata and tables.

Public names:
- planning and applying: ``plan_blueprint``, ``apply_blueprint``, ``apply_blueprint_path``,
  ``plan_blueprint_path``, ``Plan``, ``ApplyResult``
- several workspaces, one outcome each: ``roll_out``, ``Outcome``, ``Status``
- export and purge: ``export_workspace``, ``write_export``, ``purge_workspace``
- what uses a field or stage: ``Dependency``, ``register_dependants``, ``find_dependants``
- refusal codes: ``CODES`` (``MM.E3xx`` → one-line explanation)
"""

from metamodel.migrate.apply import (
    ApplyResult,
    apply_blueprint,
    plan_blueprint,
)
from metamodel.migrate.codes import CODES
from metamodel.migrate.dependants import Dependency, find_dependants, register_dependants
from metamodel.migrate.export import export_workspace, write_export
from metamodel.migrate.plan import Plan
from metamodel.migrate.purge import DEFAULT_RETENTION_DAYS, purge_workspace
from metamodel.migrate.rollout import (
    Outcome,
    Status,
    apply_blueprint_path,
    plan_blueprint_path,
    roll_out,
)

__all__ = [
    "CODES",
    "DEFAULT_RETENTION_DAYS",
    "ApplyResult",
    "Dependency",
    "Outcome",
    "Plan",
    "Status",
    "apply_blueprint",
    "apply_blueprint_path",
    "export_workspace",
    "find_dependants",
    "plan_blueprint",
    "plan_blueprint_path",
    "purge_workspace",
    "register_dependants",
    "roll_out",
    "write_export",
]
