"""Input files: which ones to read, their content hash, and their physical lines staged into DuckDB.

Lines are read by DuckDB's CSV reader used as a plain line splitter (one VARCHAR column, no quote,
no escape, 0x01 as delimiter), in parallel, with the line number taken from the order of insertion.
That reader is only faithful for valid UTF-8 without CR or 0x01 bytes and lines under its 2 MB
limit: it refuses invalid UTF-8 and long lines itself, `scan_file` notes CR and 0x01 while hashing
(in a thread, while DuckDB reads), and the line and byte counts are checked after reading. Any
other file is first rewritten into a temporary copy where the few lines the reader cannot carry
are blanked and put back from Python (`temp._specials`); its good lines still load set-based.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from leadgate.ingest.records import (
    MAX_RECORD_BYTES,
    file_format,
    kept_raw_text,
    oversize_reason,
    utf8_error_reason,
)
from leadgate.ingest.report import IngestError, InputMissing
from leadgate.store.sql import registered

BOM = codecs.BOM_UTF8
CHUNK = 16 * 1024 * 1024
UTF8_BLOCK = 64 * 1024
READ_LINES = (
    "create or replace temp table _lines as select line from read_csv(?, columns = {'line': 'VARCHAR'},"
    " delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, new_line = '\\n')"
)


@dataclass(frozen=True)
class FileScan:
    """What one pass over a file's bytes tells: its sha256 and whether DuckDB can split it as it is."""

    sha256: str
    size: int
    newlines: int
    ends_with_newline: bool
    bom: bool
    clean: bool  # no CR, no 0x01
    head: bytes = b""  # the first bytes: a BOM or the NUL pattern of UTF-16 text

    @property
    def lines(self) -> int:
        if self.size - (len(BOM) if self.bom else 0) == 0:
            return 0
        return self.newlines + (0 if self.ends_with_newline else 1)


def check_inbox(inbox: Path) -> None:
    """Refuse, in one line naming it, an inbox that does not exist or is not a folder (a wrong LEADGATE_INBOX)."""
    path = Path(inbox).expanduser()
    if not path.exists():
        raise InputMissing(f"inbox {path} does not exist: set LEADGATE_INBOX (or --inbox) to the folder of event files")
    if not path.is_dir():
        raise InputMissing(
            f"inbox {path} is not a folder: set LEADGATE_INBOX (or --inbox) to the folder of event files"
        )


def discover_files(paths: list[Path]) -> tuple[list[tuple[Path, str]], list[str]]:
    """Files to ingest (absolute, each once, folders walked recursively in name order) and notes on ignored ones."""
    missing = [str(p) for p in paths if not Path(p).expanduser().exists()]
    if missing:
        raise InputMissing(f"no such file or folder: {', '.join(missing)}")
    found: list[tuple[Path, str]] = []
    notes: list[str] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given).expanduser().resolve()
        if not (root.is_dir() or root.is_file()):  # a FIFO or device: reading it would block or never end
            notes.append(f"ignored {root}: not a regular file (a pipe, device or socket)")
            continue
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in candidates:
            if path in seen:
                continue
            seen.add(path)
            fmt = file_format(path)
            if fmt is None:
                notes.append(f"ignored {path}: not a .jsonl, .json or .csv file")
            else:
                found.append((path, fmt))
    return found, notes


def scan_file(path: Path) -> FileScan:
    """Hash the file (sha256) and note, in the same pass, what would trip the fast line reader."""
    sha = hashlib.sha256()
    size = newlines = 0
    clean, bom, last, head = True, False, b"", b""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                if size == 0:
                    bom, head = chunk.startswith(BOM), chunk[:64]
                size += len(chunk)
                sha.update(chunk)
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
                # Invalid UTF-8 needs no check here: the reader refuses it and the sanitised copy takes over.
                clean = clean and b"\r" not in chunk and b"\x01" not in chunk
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    return FileScan(sha.hexdigest(), size, newlines, last == b"\n", bom, clean, head)


def read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Split the file into temp._lines with DuckDB's reader, optimistically (checked by `stage_lines`)."""
    try:
        con.execute(READ_LINES, [str(path)])
    except duckdb.Error:
        return False  # not UTF-8, a line over the reader's 2 MB limit, ...: the sanitised copy handles it
    return True


def stage_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    scan: FileScan,
    workdir: Path,
    read_ok: bool,
    forced: dict[int, tuple[str, str | None]] | None = None,
) -> bool:
    """Make temp._lines hold the file's lines (rowid + 1 = physical line); True when temp._specials patches some.

    `forced`: line index -> (text, reject reason) decided before reading (see decode.py).
    """
    if forced:
        return _stage_sanitised(con, path, workdir, forced)
    if scan.lines == 0:
        con.execute("create or replace temp table _lines (line varchar)")
        return False
    if (
        read_ok
        and scan.clean
        and _lines_match(con, scan.lines, scan.size - scan.newlines - (len(BOM) if scan.bom else 0))
    ):
        return False
    return _stage_sanitised(con, path, workdir)


def _lines_match(con: duckdb.DuckDBPyConnection, lines: int, content_bytes: int) -> bool:
    count, total = con.execute("select count(*), coalesce(sum(strlen(line)), 0) from _lines").fetchall()[0]
    return count == lines and total == content_bytes


def _stage_sanitised(
    con: duckdb.DuckDBPyConnection, path: Path, workdir: Path, forced: dict[int, tuple[str, str | None]] | None = None
) -> bool:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")  # a CRLF line end is not part of the record
    starts, ends = _line_bounds(data)
    special = _special_lines(data, starts, ends) | (forced or {})
    view = memoryview(data)
    parts, prev = [], 0
    for i in sorted(special):
        parts.append(view[prev : starts[i]])
        prev = int(ends[i])
    parts.append(view[prev:])
    sanitised = b"".join(parts)
    if not sanitised.endswith(b"\n"):
        sanitised += b"\n"  # so a blanked last line still counts as a line
    copy = workdir / "sanitised.txt"
    copy.write_bytes(sanitised)
    try:
        ok = read_lines(con, copy) and _lines_match(con, len(starts), len(sanitised) - sanitised.count(b"\n"))
    finally:
        copy.unlink(missing_ok=True)
    if not ok:
        raise IngestError(f"cannot split {path} into lines")
    frame = pd.DataFrame(
        {
            "line_no": np.array([i + 1 for i in special], dtype=np.int64),
            "line": [special[i][0] for i in special],
            "flaw": [special[i][1] for i in special],
        }
    )
    with registered(con, _specials_frame=frame):
        con.execute(
            "create or replace temp table _specials as"
            " select line_no::bigint as line_no, line::varchar as line, flaw::varchar as flaw from _specials_frame"
        )
    return True


def _line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(data)]))
    if not data or data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _special_lines(data: bytes, starts: np.ndarray, ends: np.ndarray) -> dict[int, tuple[str, str | None]]:
    """Line index -> (text to load, reject reason or None) for lines the fast reader cannot carry."""
    special: dict[int, tuple[str, str | None]] = {}
    view, i, n = memoryview(data), 0, len(starts)
    while i < n:  # decode blocks of whole lines; a failure costs one block, not the rest of the file
        j = max(int(np.searchsorted(starts, starts[i] + UTF8_BLOCK, side="left")), i + 1)
        first = int(starts[i])
        try:
            codecs.utf_8_decode(view[first : int(ends[j - 1])], "strict", True)
            i = j
        except UnicodeDecodeError as exc:
            bad = first + exc.start
            k = int(np.searchsorted(starts, bad, side="right") - 1)
            raw = data[starts[k] : ends[k]]
            special[k] = (kept_raw_text(raw), utf8_error_reason(data[bad], bad - int(starts[k]) + 1))
            i = k + 1
    for i in np.flatnonzero(ends - starts > MAX_RECORD_BYTES):
        raw = data[starts[i] : ends[i]]
        special[int(i)] = (kept_raw_text(raw), oversize_reason(len(raw)))
    controls = np.array(_positions(data, b"\r") + _positions(data, b"\x01"), dtype=np.int64)
    for i in np.unique(np.searchsorted(starts, controls, side="right") - 1):
        if int(i) not in special:  # valid text the reader would split: loaded as it is
            special[int(i)] = (data[starts[i] : ends[i]].decode("utf-8"), None)
    return special


def _positions(data: bytes, byte: bytes) -> list[int]:
    """Offsets of a byte that is rare in event files (one find per occurrence)."""
    found, at = [], data.find(byte)
    while at != -1:
        found.append(at)
        at = data.find(byte, at + 1)
    return found
