"""Who holds the staging database: a reader or a writer, its PID and command where the platform tells."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from leadgate.store.processes import command_of, lock_holder_pids

# DuckDB names the holder: `Conflicting lock is held in /usr/bin/python3 (PID 1234)`, and adds that
# read-only mode would work when the holder is itself read-only.
_PID = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")
_READER_HINT = "would be able to open this database in read-only mode"


@dataclass(frozen=True)
class DatabaseHolder:
    """`kind` is `reader` or `writer` (a DuckDB connection outside leadgate), or `leadgate` (its writer lock)."""

    kind: str
    pid: int | None = None
    command: str | None = None

    def name(self) -> str:
        label = {"reader": "a reader", "writer": "a writer", "leadgate": "another leadgate writer"}[self.kind]
        if self.pid is None:
            return label
        return f"{label} (pid {self.pid}: {self.command})" if self.command else f"{label} (pid {self.pid})"


def holder_from_lock_error(text: str) -> DatabaseHolder:
    """The holder named in DuckDB's `Could not set lock` error."""
    kind = "reader" if _READER_HINT in text else "writer"
    match = _PID.search(text)
    if not match:
        return DatabaseHolder(kind)
    pid = int(match.group("pid"))
    return DatabaseHolder(kind, pid, command_of(pid) or os.path.basename(match.group("exe")))


def leadgate_writer(lock_file: Path) -> DatabaseHolder:
    """The leadgate process holding the writer lock file, where /proc/locks tells."""
    for pid in lock_holder_pids(lock_file):
        if pid != os.getpid():
            return DatabaseHolder("leadgate", pid, command_of(pid))
    return DatabaseHolder("leadgate")
