"""One pipeline run at a time: the `leadgate-pipeline` concurrency slot first (Prefect's queue), then the run lock.

Each slot taken is recorded beside the database (`<db>.run-slots/<lease>.json`: PID, host, run,
server), so a later run can tell a slot held by a dead run from a live one and free it. The lease
is short (Prefect's minimum, 60 s) and renewed while the run lives, so a killed run's slot also
expires on a persistent server without help.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from leadgate.config import LeadgateSettings
from leadgate.store.processes import ProcessIdentity
from leadgate.store.run_lock import RunInProgress, hold_run_lock, run_lock_is_free

LEASE_SECONDS = 60.0  # the shortest lease Prefect's server accepts for renewal
RENEW_EVERY = 20.0  # well inside the lease, so one failed renewal does not lose the slot
RECHECK_EVERY = 5.0  # while queued, look again for a holder that died meanwhile
Log = Callable[[str], None]
_fallback = logging.getLogger("leadgate.run_slot")


class RunSkipped(Exception):
    """Another live run kept the slot or the run lock for the whole wait bound."""


def server_identity() -> str:
    """Which Prefect database a slot lives in: a temporary server keeps it in PREFECT_HOME, whatever its port."""
    settings = get_current_settings()
    home = str(Path(settings.home).expanduser().resolve())
    url = settings.api.url or ""
    if not url or os.environ.get("LEADGATE_TEMPORARY_PREFECT_SERVER") == url:
        return f"temporary:{home}"
    return url


def _records(settings: LeadgateSettings) -> Path:
    return settings.db_path.with_name(settings.db_path.name + ".run-slots")


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _describe(record: dict) -> str:
    who = ProcessIdentity.from_dict(record["process"]).describe()
    return f"run {record['run_id']} ({who})" if record.get("run_id") else f"a run ({who})"


def _summary(record: dict) -> str:
    who = ProcessIdentity.from_dict(record["process"]).describe()
    return f"run {record['run_id']}, {who}" if record.get("run_id") else who


def live_holders(settings: LeadgateSettings, brief: bool = False) -> list[str]:
    """Runs recorded as holding the slot whose process is still there."""
    found = []
    for path in sorted(_records(settings).glob("*.json")):
        record = _load(path)
        if record and not ProcessIdentity.from_dict(record["process"]).is_gone():
            found.append(_summary(record) if brief else _describe(record))
    return found


def _free_lease(client, limit_name: str, lease_id: UUID, slots: int, settings: LeadgateSettings) -> bool:
    """Release a dead run's lease; if the server lost it (a temporary server's leases live in its memory), fix the count."""
    try:
        client.renew_concurrency_lease(lease_id=lease_id, lease_duration=LEASE_SECONDS)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 410:
            raise
    else:
        client.release_concurrency_slots_with_lease(lease_id=lease_id)
        return True
    try:
        limit = client.read_global_concurrency_limit_by_name(limit_name)
    except ObjectNotFound:
        return False
    # The lease is unknown: either it expired and the server already took the slot back, or the server
    # forgot it. Only when no live run of this database could hold the slot is the count the dead run's.
    if limit.active_slots > 0 and not live_holders(settings) and run_lock_is_free(settings):
        client.update_global_concurrency_limit(
            limit_name, GlobalConcurrencyLimitUpdate(active_slots=max(0, limit.active_slots - slots))
        )
        return True
    return False


def free_dead_slots(settings: LeadgateSettings, limit_name: str, log: Log) -> int:
    """Free every slot recorded by a run whose process is gone; each one with a log line."""
    freed = 0
    here = server_identity()
    for path in sorted(_records(settings).glob("*.json")):
        record = _load(path)
        if record is None or record.get("server") != here or record.get("limit") != limit_name:
            continue
        if not ProcessIdentity.from_dict(record["process"]).is_gone():
            continue
        claimed = path.with_name(f"{path.stem}.claimed-{os.getpid()}")
        try:
            os.rename(path, claimed)  # one new run frees it, however many start at once
        except FileNotFoundError:
            continue
        with get_client(sync_client=True) as client:
            released = _free_lease(client, limit_name, UUID(record["lease_id"]), int(record.get("slots", 1)), settings)
        if released:
            log(f"freed the {limit_name} concurrency slot held by {_describe(record)}, which is gone")
            freed += 1
        claimed.unlink(missing_ok=True)
    return freed


def record_slot(
    settings: LeadgateSettings,
    limit_name: str,
    lease_id: UUID,
    *,
    run_id: str | None,
    flow_run_id: str | None,
    process: ProcessIdentity | None = None,
) -> Path:
    """Write down who holds a slot, beside the database, so a later run can tell whether it is gone."""
    record = _records(settings) / f"{lease_id}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps(
            {
                "lease_id": str(lease_id),
                "limit": limit_name,
                "slots": 1,
                "server": server_identity(),
                "run_id": run_id,
                "flow_run_id": flow_run_id,
                "process": (process or ProcessIdentity.current()).to_dict(),
            }
        ),
        encoding="utf-8",
    )
    return record


def _try_acquire(client, limit_name: str, holder: ConcurrencyLeaseHolder | None) -> tuple[UUID | None, float]:
    """One attempt: (lease id, 0) when granted or no such limit; (None, retry-after seconds) when full."""
    try:
        response = client.increment_concurrency_slots_with_lease(
            names=[limit_name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS, holder=holder
        )
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 423:
            raise
        return None, float(exc.response.headers.get("Retry-After") or 1.0)
    body = response.json()
    return (UUID(body["lease_id"]) if body.get("limits") else None), 0.0


def _renew(lease_id: UUID, stop: threading.Event) -> None:
    with get_client(sync_client=True) as client:
        while not stop.wait(RENEW_EVERY):
            try:
                client.renew_concurrency_lease(lease_id=lease_id, lease_duration=LEASE_SECONDS)
            except Exception as exc:
                _fallback.warning("could not renew the pipeline's concurrency lease: %s", exc)


def _raise_terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Make SIGTERM raise (so the slot is given back) where nothing else handles it; inside a flow Prefect does."""
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            previous = None
        else:
            previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # signals can only be set from the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextmanager
def pipeline_slot(
    settings: LeadgateSettings, limit_name: str, *, run_id: str, flow_run_id: str | None, deadline: float, log: Log
) -> Iterator[UUID | None]:
    """Hold one slot of `limit_name` for the run, queueing until `deadline` (monotonic); RunSkipped after it."""
    free_dead_slots(settings, limit_name, log)
    holder = ConcurrencyLeaseHolder(type="flow_run", id=UUID(flow_run_id)) if flow_run_id else None
    announced = False
    next_check = time.monotonic() + RECHECK_EVERY
    with get_client(sync_client=True) as client:
        while True:
            lease_id, retry_after = _try_acquire(client, limit_name, holder)
            if lease_id is not None or retry_after == 0.0:
                break
            now = time.monotonic()
            others = live_holders(settings)
            if now >= deadline:
                brief = "; ".join(live_holders(settings, brief=True)) or f"it holds the {limit_name} slot"
                raise RunSkipped(f"another run is in progress ({brief})")
            if not announced:
                log(
                    f"waiting for {'; '.join(others) or 'another run'} to finish: queued on the {limit_name} "
                    f"concurrency limit, up to {deadline - now:.0f} s"
                )
                announced = True
            if now >= next_check:
                free_dead_slots(settings, limit_name, log)
                next_check = now + RECHECK_EVERY
            time.sleep(max(0.05, min(retry_after, 2.0, deadline - now)))
    if lease_id is None:  # no such limit on this server: the run lock alone keeps runs apart
        yield None
        return
    record = record_slot(settings, limit_name, lease_id, run_id=run_id, flow_run_id=flow_run_id)
    stop = threading.Event()
    # the thread runs in a copy of this context, so it talks to the same Prefect API (settings live in contextvars)
    renewer = threading.Thread(
        target=contextvars.copy_context().run, args=(_renew, lease_id, stop), name="leadgate-slot-lease", daemon=True
    )
    with _sigterm_unwinds():
        renewer.start()
        try:
            yield lease_id
        finally:
            stop.set()
            try:
                with get_client(sync_client=True) as client:
                    client.release_concurrency_slots_with_lease(lease_id=lease_id)
            finally:
                record.unlink(missing_ok=True)


@contextmanager
def exclusive_run(
    settings: LeadgateSettings, limit_name: str, *, run_id: str, flow_run_id: str | None, log: Log
) -> Iterator[None]:
    """The slot, then the run lock, both within LEADGATE_RUN_WAIT; RunSkipped when a live run keeps either."""
    deadline = time.monotonic() + settings.run_wait
    with ExitStack() as stack:
        stack.enter_context(
            pipeline_slot(settings, limit_name, run_id=run_id, flow_run_id=flow_run_id, deadline=deadline, log=log)
        )
        try:
            stack.enter_context(
                hold_run_lock(
                    settings,
                    run_id=run_id,
                    flow_run_id=flow_run_id,
                    wait=max(0.0, deadline - time.monotonic()),
                    notify=log,
                )
            )
        except RunInProgress as exc:
            detail = f" ({exc.holder.summary()})" if exc.holder is not None else ""
            raise RunSkipped(f"another run is in progress{detail}") from None
        yield
