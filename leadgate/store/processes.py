"""Who a process is, and whether it is still there: for lock holders recorded in files and named in messages."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

_PROC = Path("/proc")


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), which tells a reused PID apart."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after its closing one
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None


def command_of(pid: int, limit: int = 120) -> str | None:
    """The command line of a local process, shortened; None where the platform does not tell."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    parts = [p.decode("utf-8", "replace") for p in raw.split(b"\0") if p]
    if not parts:
        return None
    parts[0] = os.path.basename(parts[0])
    text = " ".join(" ".join(parts).split())  # one line, whatever the arguments contain
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as recorded in a holder file: enough to tell later whether it is gone."""

    pid: int
    host: str
    started_at: str
    command: str | None = None
    boot_id: str | None = None
    start_ticks: int | None = None

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(
            pid=pid,
            host=socket.gethostname(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=command_of(pid),
            boot_id=_boot_id(),
            start_ticks=_start_ticks(pid),
        )

    @classmethod
    def from_dict(cls, data: dict) -> ProcessIdentity:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def is_gone(self) -> bool:
        """True only when we can tell: same host and the PID is dead, reused, or from before a reboot."""
        if not self.on_this_host:
            return False
        if self.boot_id and _boot_id() and self.boot_id != _boot_id():
            return True
        if not pid_alive(self.pid):
            return True
        ticks = _start_ticks(self.pid)
        return self.start_ticks is not None and ticks is not None and ticks != self.start_ticks

    def describe(self) -> str:
        where = "" if self.on_this_host else f" on {self.host}"
        return f"pid {self.pid}{where}, started {self.started_at}"


def lock_holder_pids(path: Path) -> list[int]:
    """PIDs holding a POSIX or flock lock on a file, from /proc/locks (Linux); empty where not available."""
    try:
        st = path.stat()
        table = (_PROC / "locks").read_text()
    except OSError:
        return []
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for line in table.splitlines():
        m = re.match(r"\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(-?\d+)\s+(\S+)", line)
        if m and m.group(2) == want and int(m.group(1)) > 0 and int(m.group(1)) not in pids:
            pids.append(int(m.group(1)))
    return pids
