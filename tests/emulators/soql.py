"""The SOQL subset the emulator answers: SELECT f1, f2 FROM Obj WHERE Field IN ('a','b') | = 'a'."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHAPE = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)\s+WHERE\s+(?P<field>\w+)\s*"
    r"(?:IN\s*\((?P<list>.*)\)|=\s*(?P<one>'.*'))\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class Query:
    fields: list[str]
    sobject: str
    where_field: str
    values: list[str]


def parse(text: str) -> Query:
    """Parse the supported shape; anything else raises ValueError (answered as MALFORMED_QUERY)."""
    match = _SHAPE.match(text)
    if not match:
        raise ValueError(f"unexpected token in query: {text[:80]!r}")
    fields = [f.strip() for f in match.group("fields").split(",")]
    if not all(re.fullmatch(r"\w+", f) for f in fields):
        raise ValueError(f"unexpected field list: {match.group('fields')!r}")
    literal_text = match.group("list") if match.group("list") is not None else match.group("one")
    return Query(fields, match.group("sobject"), match.group("field"), _literals(literal_text))


def _literals(text: str) -> list[str]:
    """Quoted, comma-separated string literals with SOQL backslash escapes."""
    values, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\n\t":
            i += 1
        if i >= n:
            break
        if text[i] != "'":
            raise ValueError(f"expected a quoted value at {text[i : i + 20]!r}")
        i += 1
        out = []
        while True:
            if i >= n:
                raise ValueError("unterminated string literal")
            ch = text[i]
            if ch == "\\":
                if i + 1 >= n or text[i + 1] not in _ESCAPES:
                    raise ValueError(f"invalid escape in {text[max(0, i - 10) : i + 10]!r}")
                out.append(_ESCAPES[text[i + 1]])
                i += 2
            elif ch == "'":
                i += 1
                break
            else:
                out.append(ch)
                i += 1
        values.append("".join(out))
    return values
