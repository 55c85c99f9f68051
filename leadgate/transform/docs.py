"""`leadgate docs`: dbt docs built from the read copy (never the main file), optionally served on loopback."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from leadgate.config import DBT_PROJECT_DIR, LeadgateSettings
from leadgate.store import db
from leadgate.transform.dbt import dbt_args, environment_for_dbt, invoke_dbt, one_line

# The `read_copy` target in dbt_project/profiles.yml reads the copy's path from this variable and
# opens it with access_mode READ_ONLY.
READ_DB_PATH_ENV = "LEADGATE_DBT_READ_DB_PATH"
DOCS_TARGET = "read_copy"


class DocsFailed(RuntimeError):
    """dbt could not generate the docs; the message says why in one line."""


def docs_dir(settings: LeadgateSettings) -> Path:
    """Where the docs go (`<db>.dbt-docs/`): apart from the build's target dir, so a running build is untouched."""
    return settings.db_path.with_name(settings.db_path.name + ".dbt-docs")


def generate_docs(settings: LeadgateSettings, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """`dbt docs generate` against the read copy; returns the folder holding index.html and catalog.json."""
    copy = settings.read_db_path
    if not copy.exists():
        raise db.DatabaseMissing(f"no read copy at {copy} yet: `leadgate run` publishes it")
    project_dir = Path(project_dir).resolve()
    target = docs_dir(settings)
    args = dbt_args(["docs", "generate"], project_dir, target) + ["--target", DOCS_TARGET]
    with environment_for_dbt({READ_DB_PATH_ENV: str(copy)}):
        outcome = invoke_dbt(args)
    if outcome.exception is not None or not outcome.success or not (target / "catalog.json").exists():
        reason = one_line(outcome.exception) if outcome.exception is not None else "see the log"
        raise DocsFailed(f"dbt docs generate failed: {reason} (log: {target / 'logs' / 'dbt.log'})")
    return target


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # the base class's signature; requests are not logged
        return None


def docs_server(folder: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for the generated docs folder (loopback by default); the caller runs serve_forever."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:  # e.g. the port is taken: say which, and what to do
        raise DocsFailed(
            f"cannot serve the docs on http://{host}:{port}: {exc.strerror or exc}; "
            f"choose another --port (the docs are in {folder})"
        ) from None
