"""Running the real `leadgate` command in a subprocess, and reading its database afterwards."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from leadgate.config import REPO_DIR

SAMPLE_AS_OF = "2026-11-15T12:00:00Z"
LEADGATE = str(Path(sys.executable).with_name("leadgate"))


def cli_env(db: Path, inbox: Path, prefect_api: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")}
    # the bundled sample ends 2026-11-15: score as of then, so results do not drift with the calendar
    env.update(LEADGATE_DB=str(db), LEADGATE_INBOX=str(inbox), LEADGATE_LOCK_TIMEOUT="5", LEADGATE_AS_OF=SAMPLE_AS_OF)
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    env.update(extra)
    return env


def leadgate(
    *args: str, env: dict[str, str], timeout: float = 600, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LEADGATE, *args], env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=timeout, input=stdin
    )


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(db: Path, sql: str, params: list | None = None):
    return query(db, sql, params)[0][0]


def records_in_files(folder: Path) -> int:
    """Data records in a folder of event files, counted independently of leadgate's reader."""
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".jsonl", ".json"):
            total += sum(1 for line in path.read_bytes().splitlines() if line.strip())
        elif path.suffix == ".csv":
            text = path.read_bytes().decode("utf-8", errors="replace")
            total += max(0, sum(1 for _ in csv.reader(text.splitlines(keepends=True))) - 1)
    return total


def run_json(env: dict[str, str], *args: str) -> dict:
    proc = leadgate("run", "--json", *args, env=env)
    assert proc.returncode == 0, f"leadgate run failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    start = proc.stdout.index("{")
    return json.loads(proc.stdout[start:])
