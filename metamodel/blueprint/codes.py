"""Stable problem codes of the blueprint checker.

A code never changes meaning once released: tests, the README and consultants'
CI scripts key on it.  ``CODES`` maps each code to a one-line explanation (the
README's table is generated from it); the constants name them in the code.
"""

from __future__ import annotations

from metamodel.blueprint.names import (
    NAME_BUILTIN_ENTITY,
    NAME_BUILTIN_FIELD,
    NAME_GRAPHQL_RESERVED,
    NAME_INVALID,
    NAME_NOT_ASCII,
    NAME_SQL_KEYWORD,
    NAME_TOO_LONG,
)
from metamodel.blueprint.yaml_positions import DUPLICATE_KEY, YAML_SYNTAX

YAML_ERROR = YAML_SYNTAX                # MM.E101
DUPLICATE_YAML_KEY = DUPLICATE_KEY      # MM.E102
UNKNOWN_KEY = "MM.E103"
WRONG_VALUE_TYPE = "MM.E104"
MISSING_KEY = "MM.E105"
FILE_NOT_FOUND = "MM.E106"
AUTOMATION_NOT_FOUND = "MM.E107"
UNKNOWN_FIELD_TYPE = "MM.E108"
DUPLICATE_NAME = "MM.E117"
INVERSE_COLLISION = "MM.E118"
DERIVED_NAME_TOO_LONG = "MM.E119"
UNKNOWN_TARGET = "MM.E120"
MISSING_TARGET = "MM.E121"
OPTION_NOT_APPLICABLE = "MM.E122"
ENUM_WITHOUT_OPTIONS = "MM.E123"
DUPLICATE_OPTION = "MM.E124"
BAD_DEFAULT = "MM.E125"
DEFAULT_OUT_OF_RANGE = "MM.E126"
INCONSISTENT_DEFAULT = "MM.E127"
BAD_BOUNDS = "MM.E128"
BAD_FORMULA = "MM.E129"
BAD_ROLLUP_SOURCE = "MM.E130"
BAD_ROLLUP_AGG = "MM.E131"
BAD_ROLLUP_FIELD = "MM.E132"
REQUIRED_CYCLE = "MM.E133"
BAD_WORKSPACE = "MM.E134"
BAD_CURRENCY = "MM.E135"
RENAMED_FROM_EXISTS = "MM.E136"
NO_STAGES = "MM.E140"
INITIAL_NOT_OPEN = "MM.E141"
NO_WON_STAGE = "MM.E142"
BAD_PROBABILITY = "MM.E143"
BAD_MOVE_TARGET = "MM.E144"
UNKNOWN_STAGE_KIND = "MM.E145"
ROLE_UNKNOWN_ENTITY = "MM.E150"
ROLE_UNKNOWN_ACTION = "MM.E151"
ROLE_BAD_RECORDS = "MM.E152"
ROLE_UNKNOWN_HIDDEN = "MM.E153"
ROLE_REDEFINES_ADMIN = "MM.E154"
BAD_EMAIL = "MM.E160"
USER_UNKNOWN_ROLE = "MM.E161"
GROUP_UNKNOWN_MEMBER = "MM.E162"
FORM_UNKNOWN_ENTITY = "MM.E170"
FORM_UNKNOWN_FIELD = "MM.E171"
FORM_COMPUTED_FIELD = "MM.E172"
FORM_MISSING_REQUIRED = "MM.E173"

CODES: dict[str, str] = {
    YAML_ERROR: "the file is not valid YAML (or an alias refers to itself)",
    DUPLICATE_YAML_KEY: "a key appears twice in the same mapping",
    UNKNOWN_KEY: "a key the format does not know (the hint suggests the closest known key)",
    WRONG_VALUE_TYPE: "a value has the wrong shape: e.g. a list where a mapping is expected",
    MISSING_KEY: "a required key is missing (a field's type, a stage's code, a form's creates...)",
    FILE_NOT_FOUND: "the blueprint path, or blueprint.yaml inside the directory, does not exist",
    AUTOMATION_NOT_FOUND: "an automations entry is not a .craft file inside the blueprint directory",
    UNKNOWN_FIELD_TYPE: "a field's type is not one of the field types of the format",
    NAME_INVALID: "a name is not an identifier of the required shape (PascalCase entities, snake_case rest)",
    NAME_NOT_ASCII: "a name uses non-ASCII characters",
    NAME_SQL_KEYWORD: "a field name is an SQL reserved word (SQL:2016, PostgreSQL or SQLite)",
    NAME_BUILTIN_FIELD: "a field name is one of the built-in fields every record has",
    NAME_GRAPHQL_RESERVED: "a name is reserved by GraphQL (starts with __, a built-in type, true/false/null)",
    NAME_BUILTIN_ENTITY: "an entity name is a built-in entity (User, Task, Message, Note)",
    NAME_TOO_LONG: "a name is longer than 63 bytes (PostgreSQL would truncate it)",
    DUPLICATE_NAME: "two names are the same or differ only by case or Unicode form (built-ins included)",
    INVERSE_COLLISION: "an inverse list name collides with a field or another inverse of the target",
    DERIVED_NAME_TOO_LONG: "a table name derived from an entity (and field) is longer than 63 bytes",
    UNKNOWN_TARGET: "a reference or many field points to an entity that does not exist",
    MISSING_TARGET: "a reference or many field has no `to:`",
    OPTION_NOT_APPLICABLE: "a field option does not apply to the field's type (e.g. inverse on a many field)",
    ENUM_WITHOUT_OPTIONS: "an enum or multi_enum field has no options, or an empty one",
    DUPLICATE_OPTION: "an enum option is listed twice (or differs only by case)",
    BAD_DEFAULT: "a default value does not fit the field's type",
    DEFAULT_OUT_OF_RANGE: "a default is not among the options, too long, or outside min/max",
    INCONSISTENT_DEFAULT: "a default contradicts required (default: null) or unique",
    BAD_BOUNDS: "max_length below 1 or above 10485760, or min greater than max",
    BAD_FORMULA: "a formula needs a non-empty expr and a returns type that can be computed",
    BAD_ROLLUP_SOURCE: "a rollup's `of` is not an inverse list of this entity",
    BAD_ROLLUP_AGG: "a rollup's agg is not one of count, sum, avg, min, max",
    BAD_ROLLUP_FIELD: "a rollup's field is missing, unknown, or not numeric (or a date for min/max)",
    REQUIRED_CYCLE: "required references form a cycle, so no record of them could ever be created",
    BAD_WORKSPACE: "the workspace name is not lowercase letters, digits, _ and - (at most 40, no __, "
                   "no trailing _ or -)",
    BAD_CURRENCY: "a currency is not a three-letter ISO 4217 code",
    RENAMED_FROM_EXISTS: "renamed_from names something that is still declared",
    NO_STAGES: "a pipeline has no stages",
    INITIAL_NOT_OPEN: "a pipeline's first stage (its initial stage) is not open",
    NO_WON_STAGE: "a pipeline has final stages but none of them is won",
    BAD_PROBABILITY: "a stage probability is not a whole number from 0 to 100",
    BAD_MOVE_TARGET: "move_records_to does not name another stage of the same pipeline",
    UNKNOWN_STAGE_KIND: "a stage kind is not open, won or lost",
    ROLE_UNKNOWN_ENTITY: "a role names an entity that does not exist",
    ROLE_UNKNOWN_ACTION: "a role names an action other than read, create, update, delete",
    ROLE_BAD_RECORDS: "a role's records is not own or all",
    ROLE_UNKNOWN_HIDDEN: "hide_fields names an entity or field that does not exist",
    ROLE_REDEFINES_ADMIN: "the built-in role admin cannot be redefined",
    BAD_EMAIL: "a user's email is not an email address",
    USER_UNKNOWN_ROLE: "a user's role is neither admin nor a declared role",
    GROUP_UNKNOWN_MEMBER: "a group member is not the email of a declared user",
    FORM_UNKNOWN_ENTITY: "a form creates an entity that does not exist",
    FORM_UNKNOWN_FIELD: "a form maps a field the entity does not have",
    FORM_COMPUTED_FIELD: "a form maps a formula or rollup field, which cannot be written",
    FORM_MISSING_REQUIRED: "a form does not map a required field without default, so it could never create",
}
