"""Another process holding the staging database, as a running pipeline or an analyst's session would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def another_writer(db_path: Path, *, raw: bool = False, seconds: float = 30) -> Iterator[None]:
    """Hold the database until the block ends: through leadgate's lock, or (raw) a bare DuckDB connection."""
    body = (
        f"import duckdb; con = duckdb.connect({str(db_path)!r})"
        if raw
        else "from leadgate.store import db; from leadgate.config import LeadgateSettings\n"
        f"cm = db.connect(LeadgateSettings(db={str(db_path)!r}, _env_file=None)); cm.__enter__()"
    )
    code = textwrap.dedent(f"{body}\nimport time; print('holding', flush=True); time.sleep({seconds})")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding", "the holder process did not start"
        yield
    finally:
        holder.kill()
        holder.wait()
