"""Imports and exports of records: CSV and XLSX files in, filtered lists out (issue 6).

Public names only; the surfaces (``stagecraft import``/``export-records``, the
REST endpoints) import from here.
"""

from metamodel.imports.actors import actor_for
from metamodel.imports.errors import CODES, ImportRefused, RowError
from metamodel.imports.exporting import export_columns, export_records, parse_order_by, parse_where
from metamodel.imports.importing import ImportOptions, ImportSummary, Progress, import_records
from metamodel.imports.readers import FORMATS, file_format

__all__ = ["CODES", "FORMATS", "ImportOptions", "ImportRefused", "ImportSummary", "Progress", "RowError",
           "actor_for", "export_columns", "export_records", "file_format", "import_records", "parse_order_by",
           "parse_where"]
