"""The pipeline run lock: one run per database, its holder recorded so others can say who holds it and take over.

The lock is an flock on `<db>.run.lock`, so the kernel frees it whenever the holder dies (kill -9
included). The file's content names the holder (PID, host, start time, run id); a clean exit
empties it, so content found by a new holder means the previous run ended without releasing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from leadgate.config import LeadgateSettings
from leadgate.store.duckdb_file import PipelineBusy
from leadgate.store.processes import ProcessIdentity, command_of, lock_holder_pids

log = logging.getLogger("leadgate.store.run_lock")
Notify = Callable[[str], None]


@dataclass(frozen=True)
class RunHolder:
    """Who holds (or held) the run lock."""

    process: ProcessIdentity
    run_id: str | None = None
    flow_run_id: str | None = None

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a run"
        return f"{run} ({self.process.describe()})"

    def summary(self) -> str:
        return (f"run {self.run_id}, " if self.run_id else "") + self.process.describe()

    def to_json(self) -> str:
        return json.dumps({"process": self.process.to_dict(), "run_id": self.run_id, "flow_run_id": self.flow_run_id})

    @classmethod
    def from_json(cls, text: str) -> RunHolder | None:
        try:
            data = json.loads(text)
            return cls(ProcessIdentity.from_dict(data["process"]), data.get("run_id"), data.get("flow_run_id"))
        except (ValueError, KeyError, TypeError):
            return None


class RunInProgress(PipelineBusy):
    """Another pipeline run holds the run lock for longer than this run may wait."""

    def __init__(self, message: str, holder: RunHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


def run_lock_path(settings: LeadgateSettings) -> Path:
    return settings.db_path.with_name(settings.db_path.name + ".run.lock")


def _read(fd: int) -> RunHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 65536).decode("utf-8", "replace").strip()
    return RunHolder.from_json(text) if text else None


def read_run_holder(settings: LeadgateSettings) -> RunHolder | None:
    """The recorded holder of the run lock (also a stale one left by a killed run), or None."""
    try:
        return RunHolder.from_json(run_lock_path(settings).read_text(encoding="utf-8"))
    except OSError:
        return None


def _write(fd: int, holder: RunHolder | None) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    if holder is not None:
        os.write(fd, holder.to_json().encode("utf-8"))
    os.fsync(fd)


def _busy(settings: LeadgateSettings, holder: RunHolder | None) -> RunInProgress:
    path = run_lock_path(settings)
    where = f"another pipeline run is in progress on {settings.db_path}"
    if holder is None:
        who = where
    elif holder.process.is_gone():
        # The recorded process is dead yet the flock is held: a process it left behind inherited the lock.
        left = [f"pid {p}: {command_of(p) or '?'}" for p in lock_holder_pids(path) if p != os.getpid()]
        who = (
            f"{where} ({holder.summary()}, now gone, but {', '.join(left) or 'a process it left behind'} "
            f"still holds {path.name}: stop it)"
        )
    else:
        who = f"{where} ({holder.summary()})"
    return RunInProgress(f"{who}; try again when it has finished", holder)


@contextmanager
def hold_run_lock(
    settings: LeadgateSettings,
    *,
    run_id: str | None = None,
    flow_run_id: str | None = None,
    wait: float = 0.0,
    notify: Notify | None = None,
) -> Iterator[RunHolder]:
    """Hold the run lock for a whole run, waiting up to `wait` seconds (saying for whom) when a live run has it."""
    say = notify or log.info
    path = run_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read(fd)
                if time.monotonic() >= deadline:
                    raise _busy(settings, holder) from None
                if not announced:
                    say(
                        f"waiting for {holder.describe() if holder else 'another pipeline run'} to finish "
                        f"(run lock on {settings.db_path.name}, up to {max(0.0, deadline - time.monotonic()):.0f} s more)"
                    )
                    announced = True
                time.sleep(min(0.5, max(0.01, deadline - time.monotonic())))
        previous = _read(fd)
        if previous is not None:
            state = "is gone" if previous.process.is_gone() else "left no lock behind"
            say(f"took over the run lock from {previous.describe()}, which ended without releasing it ({state})")
        me = RunHolder(ProcessIdentity.current(), run_id, flow_run_id)
        _write(fd, me)
        try:
            yield me
        finally:
            _write(fd, None)  # a clean exit leaves no holder behind
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_lock_is_free(settings: LeadgateSettings) -> bool:
    """True when no live process holds the run lock right now (a probe; takes nothing)."""
    path = run_lock_path(settings)
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)
