"""Run the dbt project in-process (`dbt build`) against the leadgate database and check every node."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from leadgate.config import DBT_PROJECT_DIR, LeadgateSettings
from leadgate.policy import consent, load_policy
from leadgate.review import metrics as review_metrics
from leadgate.store import db

# The profile reads the database path from this variable (dbt_project/profiles.yml).
DB_PATH_ENV = "LEADGATE_DBT_DB_PATH"
TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
BAD_STATUSES = frozenset({"error", "fail", "skipped", "runtime error", "partial success"})
_BUILT = ("model", "seed", "snapshot")
_DETAIL_CHARS = 300

# dbtRunner keeps process-global state (adapter, flags, our env var): one build at a time.
_RUN_LOCK = threading.Lock()


class DbtFailed(RuntimeError):
    """dbt build failed; the message names every failed or skipped node."""


@dataclass(frozen=True)
class DbtReport:
    """What one `dbt build` did: (unique_id, status, seconds) per node, and the wall time."""

    nodes: list[tuple[str, str, float]] = field(default_factory=list)
    seconds: float = 0.0
    target_path: Path | None = None  # run_results.json and logs/dbt.log of this build


def target_dir(settings: LeadgateSettings) -> Path:
    """dbt's target dir beside the database (`<db>.dbt/`: manifest, run_results.json, logs/dbt.log)."""
    # Per database, so its partial-parse state is reused run after run and removed with the database.
    return settings.db_path.with_name(settings.db_path.name + ".dbt")


def run_dbt(
    settings: LeadgateSettings,
    *,
    full_refresh: bool = False,
    project_dir: Path = DBT_PROJECT_DIR,
    select: list[str] | None = None,
    unit_tests: bool = False,
) -> DbtReport:
    """`dbt build` the project into settings.db_path under the writer lock; raise DbtFailed on any bad node.

    dbt's unit tests check the models' SQL on fixed inputs, so a run's build leaves them out (as dbt
    advises for production: they cost about a quarter of a build and cannot find anything in the data);
    `unit_tests=True` runs them too, as the test suite does.
    """
    # dbt reads app-owned tables (raw.*, meta.installation): make sure they exist and are migrated.
    with db.connect(settings):
        pass
    project_dir = Path(project_dir).resolve()
    target = target_dir(settings)
    args = dbt_args(["build"], project_dir, target)
    if full_refresh:
        args.append("--full-refresh")
    if select:  # a part of the project (its tests included), e.g. ["path:models/marts/review_metrics"]
        args += ["--select", *select]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    # The consent rule's policy half (leadgate/policy/consent.py), so the mart's has_consent matches routing and sync.
    policy = load_policy(settings.policy)  # and the review SLA clock, so review_metrics_* count as `leadgate metrics`
    args += ["--vars", json.dumps({**consent.dbt_vars(policy), **review_metrics.dbt_vars(policy)})]

    with _RUN_LOCK, db.writer_lock(settings), _environment(settings):
        started = time.perf_counter()
        outcome = invoke_dbt(args)
        seconds = time.perf_counter() - started

    results = list(getattr(outcome.result, "results", None) or [])
    report = DbtReport(
        nodes=[(r.node.unique_id, str(r.status), float(r.execution_time or 0.0)) for r in results],
        seconds=seconds,
        target_path=target,
    )
    if isinstance(outcome.exception, KeyboardInterrupt):
        # Ctrl-C: dbt cancelled its queries and hands the interrupt back as the build's "exception"
        raise KeyboardInterrupt from None
    problems = _problems(results)
    if outcome.exception is not None:
        problems.insert(0, one_line(outcome.exception))
    if problems:
        raise DbtFailed("dbt failed: " + ", ".join(problems) + f" (log: {target / 'logs' / 'dbt.log'})")
    if not outcome.success:
        raise DbtFailed(f"dbt failed without naming a node (log: {target / 'logs' / 'dbt.log'})")
    return report


def dbt_args(command: list[str], project_dir: Path, target: Path) -> list[str]:
    """dbt's arguments for `command` on this project: output only to `target`'s logs/dbt.log, artifacts in `target`."""
    return [
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--log-path",
        str(target / "logs"),
        "--no-use-colors",
        *command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target),
    ]


def invoke_dbt(args: list[str]):
    """Run dbt in this process and let go of the database file after (dbtRunner's result)."""
    from dbt.cli.main import dbtRunner  # ~3 s import: only when dbt actually runs

    try:
        return dbtRunner().invoke(args)
    finally:
        _release_database()


@contextmanager
def _environment(settings: LeadgateSettings) -> Iterator[None]:
    """Point the profile at this database and keep telemetry off, restoring the environment after."""
    with environment_for_dbt({DB_PATH_ENV: str(settings.db_path)}):
        yield


@contextmanager
def environment_for_dbt(values: dict[str, str]) -> Iterator[None]:
    """Set these variables (and telemetry off) for one dbt invocation, restoring the environment after."""
    wanted = {**values, **TELEMETRY_OFF}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_database() -> None:
    """Close the DuckDB file dbt-duckdb keeps open between nodes (keep_open), so others can open it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()


def _problems(results: list) -> list[str]:
    """Each failed node named with its error; skipped models named, skipped tests counted."""
    failed = [_describe(r) for r in results if str(r.status) in BAD_STATUSES - {"skipped"}]
    skipped = [r.node for r in results if str(r.status) == "skipped"]
    built = [_name(n) for n in skipped if str(n.resource_type) in _BUILT]
    checks = len(skipped) - len(built)
    if skipped:
        named = ", ".join(built + ([f"{checks} test(s)"] if checks else []))
        failed.append(f"skipped because of that: {named}")
    return failed


def _name(node) -> str:
    kind = str(node.resource_type)
    return f"{kind} {node.schema}.{node.name}" if kind in _BUILT else f"{kind} {node.name}"


def _describe(result) -> str:
    status = str(result.status)
    if status == "fail" and str(result.node.resource_type) == "test" and result.failures is not None:
        detail = f"{result.failures} rows"
    else:
        detail = one_line(result.message)
    return f"{_name(result.node)} ({status}: {detail})"


def one_line(value: object) -> str:
    """An error or message as one line of at most a few hundred characters (dbt's are often multi-line)."""
    text = " ".join(str(value or "").split())
    return text[:_DETAIL_CHARS] + ("…" if len(text) > _DETAIL_CHARS else "")
