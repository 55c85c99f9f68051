"""The leadgate pipeline as a Prefect flow: ingest -> dbt -> score/gate/route -> sync -> publish."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.states import Completed

from flows import progress
from flows.run_slot import RunSkipped, exclusive_run
from leadgate.config import LeadgateSettings
from leadgate.pipeline import interrupts, steps
from leadgate.pipeline.attention import rejection_reasons
from leadgate.pipeline.report import render_markdown
from leadgate.pipeline.summary import attention_rows, shown_rows
from leadgate.pipeline.telemetry import apply_telemetry_defaults
from leadgate.policy import Policy, load_policy
from leadgate.shared.redaction import redact, redact_value, redacted_errors
from leadgate.store import db

GLOBAL_LIMIT = "leadgate-pipeline"


def ensure_global_limit() -> None:
    """Create the one-slot `leadgate-pipeline` limit when the server has none (one ops set up is left as it is).

    Without it Prefect skips the limit with a warning, and only the run lock keeps two runs apart.
    """
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(GLOBAL_LIMIT)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GLOBAL_LIMIT, limit=1))
            except ObjectAlreadyExists:
                pass  # another run created it a moment ago


def retry_if_database_busy(task, task_run, state) -> bool:
    """Retry a task only when another writer held the database; any other failure is final."""
    try:
        state.result()
    except db.PipelineBusy:
        return True
    except Exception:
        return False
    return False


_task = {
    "cache_policy": NO_CACHE,
    "retries": 3,
    "retry_delay_seconds": [5, 15, 30],
    "retry_condition_fn": retry_if_database_busy,
}


@task(name="ingest-inbox", **_task)
@redacted_errors
@interrupts.step("ingest")
def ingest_inbox(settings: LeadgateSettings, paths: list[Path] | None = None):
    log = get_run_logger()
    report = steps.ingest_step(settings, paths, progress=log.info, warn=log.warning)
    progress.step_done("ingest", f"{report.records} records")
    return report


@task(name="dbt-build", **_task)
@redacted_errors
@interrupts.step("dbt")
def build_features(settings: LeadgateSettings, full_refresh: bool, run_id: str | None = None):
    report = steps.build_step(settings, full_refresh=full_refresh, run_id=run_id)
    get_run_logger().info("dbt build: %d nodes in %.1f s", len(report.nodes), report.seconds)
    progress.step_done("dbt", f"{len(report.nodes)} nodes")
    return report


@task(name="score-gate-route", **_task)
@redacted_errors
@interrupts.step("scoring and routing")
def decide(settings: LeadgateSettings, policy: Policy, run_id: str, rescore_all: bool):
    return steps.decide_step(
        settings,
        policy,
        run_id,
        rescore_all=rescore_all,
        progress=get_run_logger().info,
        on_batch=progress.scoring_batch,
    )


@task(name="sync-outbox", **_task)
@redacted_errors
@interrupts.step("the CRM sync")
def sync_outbox(settings: LeadgateSettings, policy: Policy, run_id: str):
    report = steps.sync_step(settings, policy, run_id)
    progress.step_done("sync", f"{report.sent} sent, {report.would_send} owed")
    return report


@task(name="review-alerts", cache_policy=NO_CACHE)
def review_alerts(settings: LeadgateSettings, policy: Policy, run_id: str) -> dict:
    """One Slack/Teams message for the items this run queued and those newly past their SLA; never fails the run."""
    from leadgate.review.alerts import send_review_alerts, webhook_from_environment

    log = get_run_logger()
    return steps.to_plain(
        send_review_alerts(settings, webhook_from_environment(log.warning), policy, run_id=run_id, logger=log)
    )


@task(name="drift-alert", cache_policy=NO_CACHE)
def drift_alert(settings: LeadgateSettings, run_id: str, drift: dict) -> dict:
    """One Slack/Teams message per drift episode of the deciding model; never fails the run."""
    from leadgate.review.alerts import webhook_from_environment
    from leadgate.review.drift_alerts import send_drift_alert

    log = get_run_logger()
    hook = webhook_from_environment(log.warning)
    return steps.to_plain(send_drift_alert(settings, hook, drift, run_id=run_id, logger=log))


@task(name="publish-read-copy", **_task)
@redacted_errors
@interrupts.step("publishing the read copy")
def publish(settings: LeadgateSettings) -> str:
    path = str(db.publish_read_copy(settings))
    progress.step_done("publish", "read copy published")
    return path


@flow(name="leadgate-pipeline", log_prints=True)
@redacted_errors  # no configured secret reaches Prefect's state messages or results
def leadgate_pipeline(rescore: bool = False, full_refresh: bool = False, inbox: str | None = None) -> dict:
    """One pass of the pipeline. `rescore` re-scores every lead (decay); `full_refresh` rebuilds dbt from scratch."""
    with interrupts.watching_termination():  # a SIGTERM between steps is a termination too, not a failure
        return _pipeline(rescore=rescore, full_refresh=full_refresh, inbox=inbox)


def _pipeline(*, rescore: bool, full_refresh: bool, inbox: str | None) -> dict:
    settings = LeadgateSettings() if inbox is None else LeadgateSettings(inbox=Path(inbox))
    policy = load_policy(settings.policy)
    run_id = steps.new_run_id()
    flow_run_id = runtime.flow_run.id
    apply_telemetry_defaults()  # deployment runs too: dbt and GX read these when they start
    ensure_global_limit()
    with ExitStack() as held:
        try:  # queued on the concurrency limit first, then the run lock, within LEADGATE_RUN_WAIT
            held.enter_context(
                exclusive_run(
                    settings,
                    GLOBAL_LIMIT,
                    run_id=run_id,
                    log=get_run_logger().info,
                    flow_run_id=str(flow_run_id) if flow_run_id else None,
                )
            )
        except RunSkipped as exc:
            get_run_logger().info("skipped: %s", exc)
            return Completed(
                name="Skipped", message=f"skipped: {exc}", data={"run_id": run_id, "skipped": f"skipped: {exc}"}
            )
        abandoned = steps.start_run(
            settings, run_id, kind="pipeline", policy=policy, flow_run_id=str(flow_run_id) if flow_run_id else None
        )
        progress.start(run_id)
        try:
            summary = _run(settings, policy, run_id, rescore=rescore, full_refresh=full_refresh)
            summary["abandoned_runs"] = abandoned
            steps.finish_run(settings, run_id, status="completed", summary=summary)
            publish(settings)  # after the run row is final, so the copy shows this run finished
        except BaseException as exc:
            stopped = interrupts.interruption(exc)  # Ctrl-C: `interrupted`, whatever the step turned it into
            failed = stopped is None and isinstance(exc, Exception)
            # SIGTERM (Prefect's TerminationSignal) or SystemExit: stopped from outside, `interrupted` too
            why = str(exc) if failed else str(stopped or f"run stopped from outside ({type(exc).__name__})")
            with interrupts.shielded():
                steps.finish_run(settings, run_id, status="failed" if failed else "interrupted", error=why)
            if stopped is not None:
                raise stopped from None
            raise
        finally:
            progress.stop()
    create_table_artifact(
        key="leadgate-run-summary",
        table=redact_value(attention_rows(summary) + shown_rows(summary)[0]),
        description=f"leadgate run {run_id}",
    )
    create_markdown_artifact(
        key="leadgate-run-report", markdown=redact(render_markdown(summary)), description=f"leadgate run {run_id}"
    )
    return summary


def _run(settings: LeadgateSettings, policy: Policy, run_id: str, *, rescore: bool, full_refresh: bool) -> dict:
    log = get_run_logger()
    ingested = ingest_inbox(settings)
    owed = steps.work_owed(settings)  # what dbt has built, whichever path loaded the events
    # field issues without accepted events: later copies that refuse consent, which must reach the mart now
    must_build = (
        owed.build
        or ingested.accepted > 0
        or ingested.field_issues > 0
        or rescore
        or full_refresh
        or not steps.marts_built(settings)
    )
    built = decided = None
    if catch_up := owed.catch_up(ingested.accepted):
        log.info("catching up: %s", catch_up)
    if must_build:
        built = build_features(settings, full_refresh, run_id)
        decided = decide(settings, policy, run_id, rescore)
    elif owed.decide:
        decided = decide(settings, policy, run_id, False)
    elif waiting := steps.leads_waiting_for_scorer(settings):
        log.info("no new events; retrying %d lead(s) still waiting for the scorer (dbt skipped)", waiting)
        decided = decide(settings, policy, run_id, False)
    else:
        log.info("no new events: dbt, scoring and the gate are skipped")
    synced = sync_outbox(settings, policy, run_id)
    alerted = review_alerts(settings, policy, run_id)  # after routing and sync: what this run queued
    decided_plain = None if decided is None else steps.to_plain(decided)
    drift = ((decided_plain or {}).get("model") or {}).get("drift")
    # once per drift episode, not once per run; a calm run has nothing to send
    drift_alerted = drift_alert(settings, run_id, drift) if (drift or {}).get("drifted") else None
    status = steps.status_counts(settings)
    return {
        "run_id": run_id,
        "policy_version": policy.version,
        "sync_mode": settings.sync_mode,
        "crm": settings.crm,
        "ingest": steps.to_plain(ingested),
        "rejection_reasons": rejection_reasons(settings, getattr(ingested, "load_id", None))
        if ingested.rejected
        else [],
        "review_budget": policy.routing.review_budget,
        "catch_up": catch_up,
        "dbt": None if built is None else {"nodes": len(built.nodes), "seconds": round(built.seconds, 2)},
        "decide": decided_plain,
        "sync": steps.to_plain(synced),
        "alerts": alerted,
        "drift_alert": drift_alerted,
        "status": status,
        "read_copy": str(settings.read_db_path),  # published by the flow once this run's row is final
    }


if __name__ == "__main__":
    apply_telemetry_defaults()
    leadgate_pipeline()
