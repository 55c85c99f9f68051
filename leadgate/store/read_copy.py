"""Keep the analysts' read copy current after review decisions, without republishing on every click.

A decision marks the copy stale (under the writer lock) and then publishes it at once unless a copy was
published less than `read_copy_interval` seconds ago. In that case a small detached process publishes
when the interval is over, so a burst of decisions costs one copy and the last one still shows up.
Every publish (a run's, a decision's, the trailing one) clears the mark under the writer lock.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from leadgate.config import LeadgateSettings
from leadgate.store import db

# A decision waits this long for the writer lock to publish; a busy database leaves it to the
# trailing publisher (or to the run holding it, which publishes when it ends).
DECISION_LOCK_WAIT = 1.0


def mark_pending(settings: LeadgateSettings) -> None:
    """Record that the main file has changes the read copy lacks (call under the writer lock)."""
    marker = db.pending_marker(settings)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def is_pending(settings: LeadgateSettings) -> bool:
    return db.pending_marker(settings).exists()


def seconds_since_publish(settings: LeadgateSettings) -> float:
    """Age of the read copy in seconds (infinite when there is none)."""
    try:
        return max(0.0, time.time() - settings.read_db_path.stat().st_mtime)
    except FileNotFoundError:
        return float("inf")


def publish_after_decision(settings: LeadgateSettings) -> str:
    """Publish now, or leave it to a trailing publisher when one was published < interval ago: 'published' | 'scheduled'."""
    if seconds_since_publish(settings) >= settings.read_copy_interval:
        try:
            db.publish_read_copy(settings, timeout=min(settings.lock_timeout, DECISION_LOCK_WAIT))
            return "published"
        except db.PipelineBusy:
            pass
    _start_trailing_publisher(settings)
    return "scheduled"


def _publisher_guard(settings: LeadgateSettings) -> FileLock:
    copy = settings.read_db_path
    return FileLock(str(copy.with_name(copy.name + ".publisher.lock")))


def publish_pending(settings: LeadgateSettings) -> bool:
    """Publish once the interval since the last copy is over, while changes are pending; True if it published.

    One publisher waits at a time. It re-checks the mark after letting go of its guard, so a decision
    whose own publisher found the guard taken is never left out.
    """
    published = False
    while is_pending(settings):
        guard = _publisher_guard(settings)
        try:
            guard.acquire(timeout=0)
        except Timeout:
            return published  # the publisher holding the guard re-checks after it is done
        try:
            wait = settings.read_copy_interval - seconds_since_publish(settings)
            if wait > 0:
                time.sleep(wait)
            if is_pending(settings):
                try:
                    db.publish_read_copy(settings)
                except db.PipelineBusy:
                    return published  # a run holds the database; it publishes the copy when it ends
                published = True
        finally:
            guard.release()
    return published


def _start_trailing_publisher(settings: LeadgateSettings) -> None:
    """A detached `python -m leadgate.store.read_copy` that outlives the CLI command that made the decision."""
    guard = _publisher_guard(settings)
    try:
        guard.acquire(timeout=0)
    except Timeout:
        return  # a publisher is waiting: it re-checks the mark after it is done, so it covers this change
    guard.release()
    args = [
        sys.executable,
        "-m",
        "leadgate.store.read_copy",
        str(settings.db_path),
        str(settings.read_db_path),
        str(settings.read_copy_interval),
        str(settings.lock_timeout),
    ]
    subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def main(argv: list[str]) -> int:
    """Entry of the trailing publisher; its settings come from the process that started it."""
    db_path, read_path, interval, lock_timeout = argv
    settings = LeadgateSettings(
        db=Path(db_path),
        read_db=Path(read_path),
        read_copy_interval=float(interval),
        lock_timeout=float(lock_timeout),
        _env_file=None,
    )
    publish_pending(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
