"""`leadgate sql`'s output: an aligned table, CSV or JSON (the query itself: leadgate/store/analyst_sql.py)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from leadgate.shared.neutral_text import one_line, terminal_safe
from leadgate.store.analyst_sql import FORMATS, QueryResult, SqlError

CELL_CHARS = 60


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def format_table(result: QueryResult) -> str:
    """Aligned columns; long cells are cut to CELL_CHARS characters; lead text cannot drive the terminal."""

    def cell(value: Any) -> str:
        text = one_line(_text(value))
        return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"

    columns = [one_line(c) for c in result.columns]
    cells = [[cell(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def format_csv(result: QueryResult, terminal: bool = False) -> str:
    """The values as they are; shown on a terminal (not redirected), without escape sequences or controls."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
    text = out.getvalue().rstrip("\n")
    return terminal_safe(text) if terminal else text


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no literal for them (Python would write an invalid `NaN`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def format_json(result: QueryResult) -> str:
    rows = [{c: _finite(v) for c, v in zip(result.columns, row)} for row in result.rows]
    return json.dumps(rows, indent=2, default=str, allow_nan=False)


def render(result: QueryResult, fmt: str, terminal: bool = False) -> str:
    """The result as `fmt`; `terminal`: stdout is a terminal (CSV then loses escape sequences; table always does)."""
    if fmt not in FORMATS:
        raise SqlError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return format_csv(result, terminal)
    return {"table": format_table, "json": format_json}[fmt](result)
