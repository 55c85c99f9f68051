"""The `leadgate-pipeline` slot against a real Prefect API: queued within a bound, freed when its run is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest


@pytest.fixture
def limit(prefect_api):
    """A one-slot limit of this test's own, so tests never share slots."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    name = f"leadgate-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    return name


def _active(name: str) -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


def _slot_holder(settings, name: str, prefect_api: str, run_id: str) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import time
        from flows.run_slot import pipeline_slot
        from leadgate.config import LeadgateSettings
        settings = LeadgateSettings(db={str(settings.db_path)!r}, _env_file=None)
        with pipeline_slot(settings, {name!r}, run_id={run_id!r}, flow_run_id=None, deadline=time.monotonic() + 30, log=print):
            print("holding", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(os.environ, PREFECT_API_URL=prefect_api),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_slot_left_by_a_killed_run_is_freed_with_a_line(settings, limit, prefect_api):
    from flows.run_slot import pipeline_slot

    dead = _slot_holder(settings, limit, prefect_api, "r-dead")
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    assert _active(limit) == 1  # the killed run never gave it back
    said: list[str] = []
    started = time.monotonic()
    with pipeline_slot(settings, limit, run_id="r-next", flow_run_id=None, deadline=started + 30, log=said.append):
        assert time.monotonic() - started < 10, "no waiting for the lease to expire"
        assert _active(limit) == 1
    assert _active(limit) == 0
    assert len(said) == 1 and said[0].startswith(
        f"freed the {limit} concurrency slot held by run r-dead (pid {dead.pid}, started "
    )
    assert said[0].endswith("which is gone")


def test_a_slot_the_server_forgot_is_given_back(settings, limit, prefect_api):
    """A temporary server that died with its run loses the lease (kept in memory) but not the slot count."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    from flows.run_slot import free_dead_slots, record_slot
    from leadgate.store.processes import ProcessIdentity

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit(limit, GlobalConcurrencyLimitUpdate(active_slots=1))
    me = ProcessIdentity.current()
    record_slot(
        settings,
        limit,
        uuid.uuid4(),
        run_id="r-lost",
        flow_run_id=None,
        process=ProcessIdentity(pid=gone.pid, host=me.host, started_at="2026-12-01T23:00:00+00:00", boot_id=me.boot_id),
    )
    said: list[str] = []
    assert free_dead_slots(settings, limit, said.append) == 1
    assert _active(limit) == 0
    assert said == [
        f"freed the {limit} concurrency slot held by run r-lost (pid {gone.pid}, started 2026-12-01T23:00:00+00:00), which is gone"
    ]
    assert free_dead_slots(settings, limit, said.append) == 0  # the record is gone with it


def test_a_live_holder_is_waited_for_then_the_run_is_skipped(settings, limit, prefect_api):
    from flows.run_slot import RunSkipped, pipeline_slot

    live = _slot_holder(settings, limit, prefect_api, "r-live")
    said: list[str] = []
    try:
        started = time.monotonic()
        with pytest.raises(RunSkipped, match=rf"another run is in progress \(run r-live, pid {live.pid}, started "):
            with pipeline_slot(
                settings, limit, run_id="r-late", flow_run_id=None, deadline=started + 2, log=said.append
            ):
                pass
        assert time.monotonic() - started >= 2
        assert _active(limit) == 1  # still the live run's
    finally:
        live.terminate()
        live.wait()
    assert said[0].startswith(f"waiting for run r-live (pid {live.pid}, started ")
    assert f"queued on the {limit} concurrency limit" in said[0]
    assert _active(limit) == 0, "a run ended by SIGTERM gives its slot back"
