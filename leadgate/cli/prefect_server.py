"""Which Prefect server `leadgate run` uses: the one PREFECT_API_URL names, else a temporary one that dies with the run.

Prefect's own temporary server is a separate process that outlives a killed run (and keeps its
concurrency leases only in memory). This one runs the same app through `leadgate.cli.server_child`,
which exits when the run's process is gone, however it ended.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import prefect
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

# Lets the run's concurrency bookkeeping tell this server (new port each run) from a persistent one.
MARKER = "LEADGATE_TEMPORARY_PREFECT_SERVER"


class TiedSubprocessServer(SubprocessASGIServer):
    """Prefect's temporary server, started through a launcher that dies with its parent."""

    _instances: ClassVar[dict[int | None, SubprocessASGIServer]] = {}  # its own, apart from Prefect's servers

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "leadgate.cli.server_child",
                str(os.getpid()),
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={**os.environ, **server_env, **get_current_settings().to_environment_variables(exclude_unset=True)},
            # Its own session: a Ctrl-C in the terminal reaches the run, which records it and then stops this
            # server itself; signalled directly, the server would die first and the run hang reporting to it.
            start_new_session=True,
        )


def configured_api_url() -> str | None:
    """The Prefect API the user configured (environment, profile or prefect.toml), if any."""
    return get_current_settings().api.url or None


@contextmanager
def prefect_api(say: Callable[[str], None]) -> Iterator[str]:
    """Use the configured Prefect API, or start a temporary server for the block; says which, once."""
    url = configured_api_url()
    if url:
        say(f"running the pipeline flow on the Prefect server at {url}…")
        yield url
        return
    say("starting a temporary local Prefect server for this run (set PREFECT_API_URL to use a running one)…")
    server = TiedSubprocessServer()
    server.start()
    os.environ[MARKER] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        os.environ.pop(MARKER, None)
        # the run's last log lines and events reach the server before it stops, not "Error logging to API"
        APILogWorker.drain_all(timeout=5)
        EventsWorker.drain_all(timeout=5)
        server.stop()
