"""Set-based SQL that reads a file: physical lines -> records -> known fields, extras and parse errors.

The statements are in reads.sql beside this module, rendered with the constants here (never input
values: values go in as named parameters). Every relation keeps `line_no`, the physical line where its record starts, and each
format ends in the same shape, (line_no, parse_error, s: struct of the known fields as text, extra).
"""

from __future__ import annotations

from leadgate.ingest.records import FIELDS, MAX_RECORD_BYTES
from leadgate.ingest.sql_files import statements

INVALID_JSON = "line is not valid JSON"
_TOO_LARGE = "'record is larger than 1 MiB (' || format('{:,}', strlen({col})) || ' bytes)'"


def _too_large(col: str) -> str:
    return _TOO_LARGE.replace("{col}", col)


_STRUCT = "{" + ", ".join(f'"{name}": "VARCHAR"' for name in FIELDS) + "}"
_PATCH = "{" + ",".join(f'"{name}":null' for name in FIELDS) + "}"  # merge-patch nulls delete the known keys
_PRESENT = " + ".join(f"(s.{name} is not null)::int" for name in FIELDS)

# One JSON parse extracts all known fields (a struct); only a line with more keys than known
# values present (unknown keys, or known keys set to null) is parsed again for its extras.
_VALIDATE = f"when not json_valid(raw_text) then '{INVALID_JSON}'"


def is_malformed_json(exc: Exception) -> bool:
    return "malformed json" in str(exc).lower()


# --- CSV: physical lines -> records (a quoted field may span lines) -> fields ----------------

# A field: quoted (spaces around allowed, "" inside) or unquoted (no comma; a quote only after its
# first character, kept literally, as Python's csv module does).
_WS = r"[ \t]*"
_Q = _WS + r'"(?:[^"]|"")*"' + _WS
_U = _WS + r'(?:[^,"\s][^,\n]*)?'
_F = f"(?:{_Q}|{_U})"
_INSIDE = r'(?:[^"]|"")*'
# A line read from outside a quoted field that ends inside one (it opens a multi-line record) ...
_OPENS = f'(?s)(?:{_F},)*{_WS}"{_INSIDE}'
# ... and a line read from inside a quoted field that does not end inside one (it closes the record).
_STAYS = f'(?s){_INSIDE}(?:"{_WS}(?:,{_F})*,{_WS}"{_INSIDE})?'
_CSV_STRUCT = ", ".join(f"'{name}': fields[$positions[{i}]]" for i, name in enumerate(FIELDS, start=1))


# The statements are reads.sql's macros, rendered once with these constants and fragment builders.
_SQL = statements(
    "reads.sql",
    (
        "LINES_PLAIN",
        "LINES_PATCHED",
        "JSONL_RECORDS",
        "JSONL_PARSED",
        "LAST_LINE_INVALID",
        "CSV_LINES",
        "CSV_RECORDS_SIMPLE",
        "CSV_RECORDS_SPANNING",
        "CSV_HEADER",
        "CSV_DATA_RECORDS",
        "CSV_PARSED",
        "CSV_EXTRA",
        "NO_EXTRA",
        "COUNT_RECORDS",
        "LEFTOVER",
    ),
    MAX_RECORD_BYTES=MAX_RECORD_BYTES,
    _too_large=_too_large,
    _STRUCT=_STRUCT,
    _PATCH=_PATCH,
    _PRESENT=_PRESENT,
    _VALIDATE=_VALIDATE,
    _OPENS=_OPENS,
    _STAYS=_STAYS,
    _F=_F,
    _CSV_STRUCT=_CSV_STRUCT,
)
LINES_PLAIN = _SQL["LINES_PLAIN"]
LINES_PATCHED = _SQL["LINES_PATCHED"]
JSONL_RECORDS = _SQL["JSONL_RECORDS"]
JSONL_PARSED = _SQL["JSONL_PARSED"]
# The same without validating first: DuckDB's JSON functions raise on the first malformed line, so
# this reads a file of valid lines with one JSON parse fewer; a file with a malformed line is then
# read again with JSONL_PARSED (see load.py).
JSONL_PARSED_TRUSTING = JSONL_PARSED.replace(_VALIDATE, "")
LAST_LINE_INVALID = _SQL["LAST_LINE_INVALID"]
CSV_LINES = _SQL["CSV_LINES"]
CSV_RECORDS_SIMPLE = _SQL["CSV_RECORDS_SIMPLE"]
CSV_RECORDS_SPANNING = _SQL["CSV_RECORDS_SPANNING"]
CSV_HEADER = _SQL["CSV_HEADER"]
CSV_DATA_RECORDS = _SQL["CSV_DATA_RECORDS"]
CSV_PARSED = _SQL["CSV_PARSED"]
CSV_EXTRA = _SQL["CSV_EXTRA"]
NO_EXTRA = _SQL["NO_EXTRA"]
COUNT_RECORDS = _SQL["COUNT_RECORDS"]
LEFTOVER = _SQL["LEFTOVER"]
