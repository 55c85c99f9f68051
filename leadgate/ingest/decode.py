"""Files the line reader cannot take as they are, rewritten into a UTF-8 copy that the normal path reads.

- UTF-16 / UTF-32 text (a BOM, or without one the NUL pattern of ASCII text, LE or BE) is transcoded
  line for line: the copy has the same lines, so line numbers stay physical; a line with an invalid
  code unit is rejected (`line is not valid UTF-16 LE (at character N)`) and the others load.
- A JSON file that is a document rather than JSON Lines (its first non-blank line starts a JSON array,
  or an object that does not end on that line: a pretty-printed export) is read as JSON. Each object
  is one record (an array's elements are records), reported at the physical line where it starts;
  when several records start on one line (a one-line array) they are numbered by position instead.
  A document that is not valid JSON is rejected whole, as one record with the parser's reason: its
  records cannot be told apart, and counting its physical lines as records would be wrong.

The clean JSON Lines path pays one `readline` and one small `json.loads` for this check.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from pathlib import Path

from leadgate.ingest.files import BOM, FileScan, scan_file
from leadgate.ingest.records import kept_raw_text
from leadgate.ingest.report import IngestError

_MARK = "\udfff"  # stands for an undecodable code unit; a lone surrogate never comes out of valid text
codecs.register_error("leadgate.mark", lambda exc: (_MARK, exc.end))
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_SPACE = re.compile(r"[ \t\n\r]*")
_NEWLINES = str.maketrans({"\n": " ", "\r": " "})  # outside strings (valid JSON has no raw newline inside one)
# A line that is only '{' or '[' never is a JSON Lines record: it opens a pretty-printed one (short lines only: cheap).
LONE_BRACES = "select 1 from _lines where strlen(line) < 64 and trim(line) in ('{', '[') limit 1"
_LONE_BRACE = re.compile(r"^[ \t]*[{\[][ \t]*\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Prepared:
    """The UTF-8 copy read instead of a file, and the lines already decided (index -> (raw text, reason))."""

    path: Path
    scan: FileScan
    specials: dict[int, tuple[str, str | None]]
    read_as: str


def prepare_file(path: Path, fmt: str, scan: FileScan, workdir: Path, *, lone_braces: bool = False) -> Prepared | None:
    """A UTF-8 JSON Lines/CSV copy of a UTF-16/32 file or a JSON document; None when the file reads as it is.

    `lone_braces`: some line of the file is only '{' or '[' (a pretty-printed record after one-line ones);
    the file is then read as a document if it parses as one, else line by line as before.
    """
    wide = _wide_encoding(scan.head)
    maybe = False
    if wide is None and fmt == "jsonl":
        starts = _starts_a_document(path)
        maybe = lone_braces and not starts
        if not (starts or maybe):
            return None
    elif wide is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    labels: list[str] = []
    if wide is not None:
        codec, label, bom = wide
        text = data[len(bom) :].decode(codec, "leadgate.mark")
        labels.append(label)
    else:
        label = "UTF-8"
        try:
            text = data[len(BOM) :].decode("utf-8") if data.startswith(BOM) else data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            if maybe or line == _first_content_line(data.decode("utf-8", "replace")):
                return None  # JSON Lines whose first line is broken: the line reader rejects just that line
            reason = (
                f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}): nothing in it was loaded"
            )
            return _write(workdir, *_whole(data.decode("utf-8", "replace"), line, reason), "a JSON document")
    lines: list[str] | None = None
    specials: dict[int, tuple[str, str | None]] = {}
    if fmt == "jsonl" and wide is not None and not _text_starts_a_document(text):
        maybe = _LONE_BRACE.search(text) is not None  # the transcoded file's counterpart of `lone_braces`
    if fmt == "jsonl" and (wide is None or maybe or _text_starts_a_document(text)):
        lines, specials, layout = _document(text, label, whole_or_nothing=not maybe)
        if lines is not None:
            labels.append(layout)
        elif wide is None:
            return None
    if lines is None:
        lines = text.split("\n")
        if _MARK in text:
            for i, line in enumerate(lines):
                if _MARK in line:
                    specials[i] = (
                        line.replace(_MARK, "\ufffd"),
                        f"line is not valid {label} (at character {line.index(_MARK) + 1})",
                    )
                    lines[i] = ""
        return _write(workdir, lines, specials, ", ".join(labels), ends=False)
    return _write(workdir, lines, specials, ", ".join(labels))


def _wide_encoding(head: bytes) -> tuple[str, str, bytes] | None:
    for bom, codec, label in _WIDE_BOMS:
        if head.startswith(bom):
            return codec, label, bom
    # Without a BOM: event files start with ASCII ('{', '[' or a header name), so NULs give the width away.
    if len(head) >= 4 and head[0] and not any(head[1:4]):
        return "utf-32-le", "UTF-32 LE", b""
    if len(head) >= 4 and not any(head[:3]) and head[3]:
        return "utf-32-be", "UTF-32 BE", b""
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", "UTF-16 LE", b""
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be", "UTF-16 BE", b""
    return None


def _starts_a_document(path: Path) -> bool:
    """True when the first non-blank line opens a JSON array or an object it does not close."""
    try:
        with path.open("rb") as fh:
            nonblank = (raw.strip() for raw in fh if raw.strip())
            first = next(nonblank, b"")
            return _looks_like_a_document(first[len(BOM) :].strip() if first.startswith(BOM) else first, nonblank)
    except OSError:
        return False  # the normal path reports it


def _text_starts_a_document(text: str) -> bool:
    nonblank = (ln.strip() for ln in text.lstrip("\ufeff").split("\n") if ln.strip())
    return _looks_like_a_document(next(nonblank, ""), nonblank)


def _looks_like_a_document(first: bytes | str, rest) -> bool:
    if first[:1] not in (b"[", b"{", "[", "{"):
        return False
    second = next(rest, None)
    if _is_json(first):  # a valid one-line array is a document only when nothing follows (else JSON Lines of arrays)
        return first[:1] in (b"[", "[") and second is None
    # JSON Lines whose first line is broken: the next line is a whole object
    return not (second is not None and second[:1] in (b"{", "{") and _is_json(second))


def _is_json(text: bytes | str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _first_content_line(text: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return number
    return 1


def _document(
    text: str,
    label: str,
    *,
    whole_or_nothing: bool = True,
) -> tuple[list[str] | None, dict[int, tuple[str, str | None]], str]:
    """The copy's lines for a JSON document (None: not one after all, read it as JSON Lines).

    `whole_or_nothing` off: a document that does not parse is read as JSON Lines instead of rejected whole.
    """
    try:
        spans, array = _json_spans(text)
    except json.JSONDecodeError as exc:
        if not whole_or_nothing or (exc.lineno == _first_content_line(text) and not _one_array_line(text)):
            return None, {}, ""  # JSON Lines with a broken first line
        reason = (
            f"the file is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): nothing in it was loaded"
        )
        return *_whole(text, exc.lineno, reason), "a JSON document"
    layout = "a JSON array" if array else "multi-line JSON"
    if _MARK in text:
        at = text.index(_MARK)
        line = text.count("\n", 0, at) + 1
        return *_whole(text, line, f"the file is not valid {label} (line {line}): nothing in it was loaded"), layout
    starts, line, prev = [], 1, 0
    for start, _ in spans:
        line += text.count("\n", prev, start)
        prev = start
        starts.append(line)
    records = [text[a:b].translate(_NEWLINES) for a, b in spans]
    if len(set(starts)) < len(starts):  # several records on one line: number them by position
        return records, {}, layout + "; line_no is the record's position"
    lines = [""] * (starts[-1] if starts else 0)
    for at, record in zip(starts, records):
        lines[at - 1] = record
    return lines, {}, layout


def _one_array_line(text: str) -> bool:
    """The whole file is one line opening an array: a one-line JSON document, never JSON Lines."""
    content = [line for line in text.lstrip("\ufeff").split("\n") if line.strip()]
    return len(content) == 1 and content[0].lstrip().startswith("[")


def _json_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """(start, end) of each record: the top-level values, an array's elements in its place."""
    decoder, spans, array = json.JSONDecoder(), [], False
    i, n = _SPACE.match(text, 1 if text.startswith("\ufeff") else 0).end(), len(text)
    while i < n:
        if text[i] != "[":
            _, end = decoder.raw_decode(text, i)
            spans.append((i, end))
            i = _SPACE.match(text, end).end()
            continue
        array = True
        i = _SPACE.match(text, i + 1).end()
        if i < n and text[i] == "]":
            i = _SPACE.match(text, i + 1).end()
            continue
        while True:
            _, end = decoder.raw_decode(text, i)
            spans.append((i, end))
            i = _SPACE.match(text, end).end()
            if i < n and text[i] == ",":
                i = _SPACE.match(text, i + 1).end()
            elif i < n and text[i] == "]":
                i = _SPACE.match(text, i + 1).end()
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter or ']'", text, i)
    return spans, array


def _whole(text: str, line: int, reason: str) -> tuple[list[str], dict[int, tuple[str, str | None]]]:
    """A copy with one record, at `line`, rejected for `reason`, keeping the file's text (cut if large)."""
    raw = kept_raw_text(text.replace(_MARK, "\ufffd").encode("utf-8"))
    return [""] * (line - 1) + ["-"], {line - 1: (raw, reason)}


def _write(workdir: Path, lines: list[str], specials: dict, read_as: str, *, ends: bool = True) -> Prepared:
    """Write the copy (`ends`: a newline after the last line; off when the lines are the file's own)."""
    copy = workdir / "decoded.txt"
    copy.write_text("\n".join(lines) + ("\n" if ends and lines else ""), encoding="utf-8", newline="")
    return Prepared(copy, scan_file(copy), specials, read_as)
