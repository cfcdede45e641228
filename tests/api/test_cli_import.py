"""``stagecraft import`` and ``stagecraft export-records``: exit codes, the FILE:ROW: column: reason
lines, one-line refusals, and files written — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint
from metamodel.records import RecordStore

CRM = """
entities:
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email, unique: true}
      score: {type: integer}
users:
  - {email: anna@acme.test, name: Anna, role: admin}
"""


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on the test's database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", db_url)
    return CliRunner()


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return workspace


def _names(engine: Engine, workspace: str) -> list[str]:
    store = RecordStore(engine, load_workspace_meta(engine, workspace))
    return sorted(r["name"] for r in store.list("Contact", first=100).records)


def _file(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _import(cli: CliRunner, workspace: str, *args: str) -> Result:
    return cli.invoke(app, ["import", "--workspace", workspace, "--entity", "Contact", *args])


def test_a_clean_import_exits_0_and_prints_the_counts(cli: CliRunner, crm: str, engine: Engine,
                                                      tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name,email\nAnn,ann@x.test\nBob,bob@x.test\n"))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2 row(s) of Contact: 2 created, 0 updated, 0 unchanged, 0 failed"
    assert _names(engine, crm) == ["Ann", "Bob"]


def test_bad_rows_are_printed_as_file_row_column_reason_and_exit_1(cli: CliRunner, crm: str, engine: Engine,
                                                                   tmp_path: Path) -> None:
    path = _file(tmp_path, "name,score\nAnn,1\nBob,lots\n,3\n")

    result = _import(cli, crm, path)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:3: score: must be a whole number",
                                          f"{path}:4: name: is required"]
    assert "1 created" in result.stdout and "2 failed" in result.stdout
    assert _names(engine, crm) == ["Ann"]


def test_json_prints_the_summary_with_its_errors_on_stdout(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name,score\nAnn,1\nBob,lots\n"), "--json")

    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"] == [{"row": 3, "column": "score", "reason": "must be a whole number"}]
    assert result.stderr == ""


def test_as_imports_in_the_name_of_a_workspace_user(cli: CliRunner, crm: str, engine: Engine,
                                                    tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name\nAnn\n"), "--as", "ANNA@acme.test")

    assert result.exit_code == 0, result.output
    store = RecordStore(engine, load_workspace_meta(engine, crm))
    record = store.list("Contact").records[0]
    assert record["owner"] is not None and record["owner"] == record["created_by"]


def test_as_an_unknown_user_is_one_line_and_exit_1(cli: CliRunner, crm: str, engine: Engine,
                                                   tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name\nAnn\n"), "--as", "nobody@acme.test")

    assert result.exit_code == 1
    assert result.stderr.startswith(f"NOT_FOUND workspace {crm} has no active user nobody@acme.test")
    assert _names(engine, crm) == []


def test_upsert_and_mapping_options_reach_the_importer(cli: CliRunner, crm: str, engine: Engine,
                                                       tmp_path: Path) -> None:
    _import(cli, crm, _file(tmp_path, "name,email\nAnn,ann@x.test\n"))

    result = _import(cli, crm, _file(tmp_path, "Mail,Name,Note\nann@x.test,Ann B.,x\n", "again.csv"),
                     "--key", "email", "--map", "Mail=email", "--map", "Note=")

    assert result.exit_code == 0, result.output
    assert "1 updated" in result.stdout
    assert "column Note skipped" in result.stderr
    assert _names(engine, crm) == ["Ann B."]


def test_a_dry_run_says_so_and_writes_nothing(cli: CliRunner, crm: str, engine: Engine,
                                               tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name\nAnn\n"), "--dry-run")

    assert result.exit_code == 0
    assert result.stdout.startswith("dry run, nothing written: 1 row(s) of Contact: 1 created")
    assert _names(engine, crm) == []


def test_unknown_columns_are_one_line_with_the_header_line_and_exit_1(cli: CliRunner, crm: str,
                                                                      tmp_path: Path) -> None:
    path = _file(tmp_path, "name,emial\nAnn,a@x.test\n")

    result = _import(cli, crm, path)

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f'{path}:1: MM.E604 Contact has no field for column(s) "emial" — "emial": did you mean "email"?']


def test_an_unclosed_quote_is_one_line_at_its_line_and_nothing_is_written(cli: CliRunner, crm: str,
                                                                           engine: Engine,
                                                                           tmp_path: Path) -> None:
    path = _file(tmp_path, 'name,email\n"unterminated,q@x.test\nZed,z@x.test\n')

    result = _import(cli, crm, path)

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f'{path}:2: MM.E601 a quote opened on line 2 is never closed — end a quoted value with a quote; '
        'write a quote inside one as two ("")']
    assert _names(engine, crm) == []


def test_a_wrong_extension_is_one_line_and_exit_1(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name\nAnn\n", "people.txt"))

    assert result.exit_code == 1
    assert "MM.E602" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_map_without_equals_is_one_line_and_exit_1(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = _import(cli, crm, _file(tmp_path, "name\nAnn\n"), "--map", "name")

    assert result.exit_code == 1
    assert result.stderr.strip() == '--map "name": write COLUMN=field (or COLUMN= to skip the column)'


def test_an_unknown_workspace_is_one_line_and_exit_1(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = _import(cli, "nowhere", _file(tmp_path, "name\nAnn\n"))

    assert result.exit_code == 1
    assert result.stderr.startswith('NOT_FOUND there is no workspace "nowhere"')
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_entity_is_one_line_and_exit_1(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = cli.invoke(app, ["import", "-w", crm, "-e", "Nobody", _file(tmp_path, "name\nAnn\n")])

    assert result.exit_code == 1
    assert result.stderr.strip() == 'NOT_FOUND there is no entity "Nobody"'


def test_a_missing_file_is_refused_by_the_usage_check(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    result = _import(cli, crm, str(tmp_path / "missing.csv"))

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def _export(cli: CliRunner, workspace: str, *args: str) -> Result:
    return cli.invoke(app, ["export-records", "--workspace", workspace, "--entity", "Contact", *args])


def test_export_records_writes_a_filtered_sorted_csv(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    _import(cli, crm, _file(tmp_path, "name,score\nAnn,1\nBob,5\nCid,9\n"))
    out = tmp_path / "out.csv"

    result = _export(cli, crm, "-o", str(out), "--where", '{"score": {"gte": 2}}', "--order-by", "score:desc")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"2 Contact record(s) written to {out}"
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Cid", "Bob"]


def test_export_records_writes_xlsx_by_the_extension(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    _import(cli, crm, _file(tmp_path, "name,score\nAnn,1\n"))
    out = tmp_path / "out.xlsx"

    result = _export(cli, crm, "-o", str(out))

    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).worksheets[0]
    assert [c.value for c in sheet[1]][:2] == ["id", "name"]
    assert sheet["B2"].value == "Ann"


def test_export_records_without_output_prints_csv(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    _import(cli, crm, _file(tmp_path, "name\nAnn\n"))

    result = _export(cli, crm)

    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip("\ufeff").startswith("id,name,email,score,owner,created_at,updated_at")


def test_a_bad_filter_is_one_line_exit_1_and_leaves_no_file(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"

    bad_json = _export(cli, crm, "-o", str(out), "--where", "{nope")
    bad_field = _export(cli, crm, "-o", str(out), "--where", '{"colour": {"eq": 1}}')

    for result in (bad_json, bad_field):
        assert result.exit_code == 1
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "out.csv.part").exists()


def test_an_export_to_an_unknown_extension_says_export(cli: CliRunner, crm: str, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"

    result = _export(cli, crm, "-o", str(out))

    assert result.exit_code == 1 and not out.exists()
    assert 'cannot export to a ".txt" file' in result.stderr
    assert "name the output .csv or .xlsx" in result.stderr
