"""Fixtures of the import/export tests (no tests here): a small CRM applied on both databases.

Imported by ``test_import_*.py`` beside it; pytest puts this directory on ``sys.path``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint
from metamodel.imports import ImportOptions, ImportSummary, import_records
from metamodel.records import RecordStore

CRM = """
entities:
  Company:
    plural: companies
    fields:
      name: {type: string, required: true}
      domain: {type: string, unique: true}
  Contact:
    fields:
      name: {type: string, required: true, label: Full name}
      email: {type: email, unique: true}
      phone: {type: phone}
      company: {type: reference, to: Company}
      tags: {type: tags}
      score: {type: integer, default: 0}
      vip: {type: boolean, default: false}
      birthday: {type: date}
      seen_at: {type: datetime}
      extra: {type: json}
  Deal:
    fields:
      title: {type: string, required: true}
      amount: {type: money, currency: EUR}
      contact: {type: reference, to: Contact}
      margin: {type: formula, expr: "amount * 0.2", returns: money}
    pipelines:
      sales:
        stages:
          - {code: new, name: New}
          - {code: won, name: Paid, kind: won}
          - {code: lost, name: Lost, kind: lost}
"""


@dataclass
class Crm:
    engine: Engine
    workspace: str

    @property
    def store(self) -> RecordStore:
        return RecordStore(self.engine, load_workspace_meta(self.engine, self.workspace))

    def run(self, entity: str, content: str | bytes, name: str = "data.csv", **options: Any) -> ImportSummary:
        data = content.encode("utf-8") if isinstance(content, str) else content
        return import_records(self.store, entity, io.BytesIO(data), name, ImportOptions(**options))

    def records(self, entity: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.store.list(entity, first=1000, **kwargs).records

    def names(self, entity: str = "Contact", field: str = "name") -> list[Any]:
        return sorted(r[field] for r in self.records(entity))


@pytest.fixture(name="crm")
def crm_fixture(engine: Engine, workspace: str) -> Crm:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return Crm(engine, workspace)


def xlsx(rows: list[list[Any]]) -> bytes:
    """An .xlsx file with ``rows`` on its first sheet (the first row is the header)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def errors(summary: ImportSummary) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in summary.errors]


NOON = datetime(2026, 3, 1, 12, 0)
