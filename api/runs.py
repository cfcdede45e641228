"""``stagecraft runs``: the admin's view of automation and process runs, as text.

The reads and the retry live in :mod:`workflow.runs` (scoped to one workspace); this module only
lays them out for a terminal.
"""

from __future__ import annotations

from workflow import (
    STATUSES,
    LogLine,
    RunNotFailed,
    RunNotFound,
    RunRow,
    get_run,
    list_runs,
    retry_run,
    run_log,
)

__all__ = ["STATUSES", "LogLine", "RunNotFailed", "RunNotFound", "RunRow", "get_run", "list_runs", "log_text",
           "retry_run", "run_log", "runs_table"]


def log_text(line: LogLine) -> str:
    """A log line as ``2026-03-02 09:00:00  failed  error=…``."""
    detail = " ".join(f"{k}={v}" for k, v in line.detail.items() if k != "name" and v is not None)
    return f"{line.at.isoformat(sep=' ', timespec='seconds')}  {line.kind:<12} {detail}".rstrip()


_COLUMNS = ("id", "run", "record", "status", "step", "error", "updated")


def runs_table(rows: list[RunRow], error_width: int = 60) -> list[str]:
    """The runs as an aligned text table (header first); errors cut to ``error_width``."""
    def cut(text: str | None) -> str:
        one = " ".join((text or "-").split())
        return one if len(one) <= error_width else one[: error_width - 1] + "…"

    cells = [list(_COLUMNS)] + [
        [str(r.id), f'{r.kind} "{r.name}"', r.record or "-", r.status, r.place, cut(r.error),
         r.updated_at.isoformat(sep=" ", timespec="seconds")] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in cells]
