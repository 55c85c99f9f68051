"""Secrets never printed or stored: a token with a trailing newline is a configuration error naming the
variable, and its value reaches neither the terminal, meta.runs, the read copy nor Prefect (logs, states)."""

from __future__ import annotations

import secrets as stdlib_secrets
import uuid

import pytest

from tests.e2e.helpers import cli_env, leadgate, query

pytestmark = pytest.mark.slow


def _prefect_texts(flow_run_id: str) -> list[str]:
    """Every log message and state message Prefect holds for a flow run and its task runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    run_id = uuid.UUID(flow_run_id)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200)
        flow_run = client.read_flow_run(run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        states = [s.message or "" for s in client.read_flow_run_states(run_id)]
    texts = [log.message for log in logs] + states + [flow_run.state.message or ""]
    return texts + [t.state.message or "" for t in tasks if t.state]


def test_a_token_with_a_trailing_newline_is_named_and_never_printed_or_stored(tmp_path, prefect_api):
    token = "pat-na1-" + stdlib_secrets.token_hex(16)
    (tmp_path / "inbox").mkdir()
    db = tmp_path / "leadgate.duckdb"
    env = cli_env(
        db,
        tmp_path / "inbox",
        prefect_api,
        LEADGATE_SYNC_MODE="live",
        LEADGATE_CRM="hubspot",
        HUBSPOT_ACCESS_TOKEN=token + "\n",
        HUBSPOT_BASE_URL="http://127.0.0.1:9",
    )
    proc = leadgate("run", env=env)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("leadgate: error:")]
    assert len(errors) == 1 and "HUBSPOT_ACCESS_TOKEN" in errors[0] and "newline" in errors[0], proc.stderr
    assert token not in proc.stdout + proc.stderr and token[8:] not in proc.stdout + proc.stderr

    ((error, flow_run_id),) = query(db, "select error, prefect_flow_run_id from meta.runs where status = 'failed'")
    assert "HUBSPOT_ACCESS_TOKEN" in error and token[8:] not in error

    # The next (good) run publishes the read copy, meta.runs included.
    ok = leadgate("run", env=cli_env(db, tmp_path / "inbox", prefect_api))
    assert ok.returncode == 0, ok.stderr[-2000:]
    read_copy = db.with_name("leadgate.read.duckdb")
    runs = query(read_copy, "select coalesce(error, '') || coalesce(summary::varchar, '') from meta.runs")
    assert len(runs) == 2 and all(token[8:] not in text for (text,) in runs)
    for path in (db, read_copy):
        assert token[8:].encode() not in path.read_bytes()

    texts = _prefect_texts(flow_run_id)
    assert any("HUBSPOT_ACCESS_TOKEN" in t for t in texts), texts
    assert not [t for t in texts if token[8:] in t]


def test_a_secret_inside_an_exception_or_log_line_is_redacted_before_prefect_sees_it(prefect_api):
    """Whatever a library puts in its error, the task's state, the flow's state and the logs carry no secret."""
    from prefect import flow, get_run_logger, task
    from prefect.runtime import flow_run

    from connectors.crm.hubspot import HubSpotSettings
    from leadgate.shared.redaction import redacted_errors

    token = "pat-eu1-" + stdlib_secrets.token_hex(16)
    HubSpotSettings(_env_file=None, access_token=token)  # building the settings registers the value
    seen: dict[str, str] = {}

    @task(retries=0)
    @redacted_errors
    def upsert() -> None:
        get_run_logger().info("calling HubSpot with Bearer %s", token)
        raise ValueError(f"Invalid header value b'Bearer {token}\\n'")

    @flow(name="secret-leak-check")
    @redacted_errors
    def pipeline() -> None:
        seen["id"] = str(flow_run.id)
        upsert()

    with pytest.raises(ValueError) as caught:
        pipeline()
    assert token not in str(caught.value) and "[HUBSPOT_ACCESS_TOKEN redacted]" in str(caught.value)
    texts = _prefect_texts(seen["id"])
    assert any("HUBSPOT_ACCESS_TOKEN redacted" in t for t in texts), texts
    assert not [t for t in texts if token[8:] in t]
