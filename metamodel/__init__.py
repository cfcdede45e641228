
# --- blueprint migrations (metamodel.migrate): plan, apply, export, purge ---
# (``name as name`` marks an explicit re-export, so this block merges with others' names.)
from metamodel.migrate import ApplyResult as ApplyResult
from metamodel.migrate import Plan as Plan
from metamodel.migrate import apply_blueprint as apply_blueprint
from metamodel.migrate import apply_blueprint_path as apply_blueprint_path
from metamodel.migrate import export_workspace as export_workspace
from metamodel.migrate import plan_blueprint as plan_blueprint
from metamodel.migrate import purge_workspace as purge_workspace
from metamodel.migrate import write_export as write_export
from metamodel.storage.catalog import load_workspace_meta as load_workspace_meta
