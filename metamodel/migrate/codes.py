"""Stable codes of migration refusals (``MM.E3xx``); tests and surfaces key on these."""

from __future__ import annotations

REFUSED = "MM.E300"
NOT_CONVERTIBLE = "MM.E301"
STAGE_HOLDS_RECORDS = "MM.E302"
PIPELINE_HOLDS_RECORDS = "MM.E303"
DUPLICATES = "MM.E304"
MISSING_VALUES = "MM.E305"
TOO_LONG = "MM.E306"
OPTION_IN_USE = "MM.E307"
DEPENDANT_BROKEN = "MM.E308"
NAME_CLASH = "MM.E309"
FOREIGN_KEY_BROKEN = "MM.E310"
BAD_MOVE_TARGET = "MM.E311"
TARGET_CHANGE = "MM.E312"
NO_WORKSPACE = "MM.E313"

CODES: dict[str, str] = {
    REFUSED: "the migration was refused; nothing was changed",
    NOT_CONVERTIBLE: "a type change would not convert every stored value",
    STAGE_HOLDS_RECORDS: "a removed stage still holds records and no move_records_to says where they go",
    PIPELINE_HOLDS_RECORDS: "a removed pipeline still holds records",
    DUPLICATES: "unique was added but stored values repeat",
    MISSING_VALUES: "required was added but records have no value",
    TOO_LONG: "max_length was lowered below stored values",
    OPTION_IN_USE: "an enum option was removed while records use it",
    DEPENDANT_BROKEN: "a formula, rollup, role, form or automation still uses a field or stage that is "
                      "archived, renamed, removed or retyped",
    NAME_CLASH: "a rename or a new name collides with an existing or archived name",
    FOREIGN_KEY_BROKEN: "a table rebuild left rows pointing at records that do not exist",
    BAD_MOVE_TARGET: "move_records_to names a stage that is not in the pipeline",
    TARGET_CHANGE: "a reference changed its target entity while records use it",
    NO_WORKSPACE: "the blueprint names no workspace and none was given",
}
