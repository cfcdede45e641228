"""The ``.craft`` language: grammar, AST, checker, compiler to plans, and expression evaluator.

Knows nothing of storage: programs are checked against a schema protocol that ``metamodel`` implements.
Other packages import only the names below; lark never leaves :mod:`dsl.parser`.
"""

from dsl.checker import check, check_files, check_program, dependencies
from dsl.errors import CODES, CraftError, CraftErrors
from dsl.format import format_expression, format_program
from dsl.parser import parse, parse_expression, parse_partial
from dsl.schema import FieldInfo, FormInfo, SchemaProtocol, StaticSchema, Use

__all__ = [
    # errors
    "CODES",
    "CraftError",
    "CraftErrors",
    # schema protocol
    "FieldInfo",
    "FormInfo",
    "SchemaProtocol",
    "StaticSchema",
    "Use",
    # checking
    "check",
    "check_files",
    "check_program",
    "dependencies",
    # formatting
    "format_expression",
    "format_program",
    # parsing
    "parse",
    "parse_expression",
    "parse_partial",
]
