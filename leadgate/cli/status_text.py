"""`leadgate status` as small aligned tables for the terminal (the report itself: leadgate/store/invariants.py)."""

from __future__ import annotations

from typing import Any

from leadgate.shared.neutral_text import one_line, terminal_safe
from leadgate.store.invariants import age_text


def _table(title: str, rows: list[tuple[str, Any]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return [title] + [f"  {k:<{width}}  {v}" for k, v in rows]


def _recovery_lines(rec: dict[str, Any]) -> list[str]:
    """What the next run picks up, only when there is something (most of the time there is not)."""
    rows = [
        (text, rec.get(key, 0))
        for key, text in (
            ("events_waiting_for_dbt", "events waiting for dbt (the next run builds them)"),
            ("crm_sends_in_flight", "CRM writes in flight or unfinished (sync.intents; the next sync settles them)"),
            ("runs_abandoned", "runs abandoned (their process died; see meta.runs.error)"),
            ("runs_interrupted", "runs interrupted (Ctrl-C)"),
        )
        if rec.get(key)
    ]
    return [""] + _table("recovery", [(text, f"{n:>9,}") for text, n in rows]) if rows else []


def format_status(report: dict[str, Any]) -> str:
    """The status report as small aligned tables for the terminal."""
    ev = report["events"]
    lines = _table("events", [(k.replace("_", " "), f"{v:>9,}") for k, v in ev.items()])
    lines += [""] + _table(
        "leads by state",
        [(s, f"{n:>9,}") for s, n in report["leads"].items()] + [("total", f"{report['leads_total']:>9,}")],
    )
    rv = report["review"]
    rate = rv["override_rate"]
    lines += [""] + _table(
        "review",
        [
            ("pending", f"{rv['pending']:>9,}"),
            ("decided", f"{rv['decided']:>9,}"),
            ("median wait", f"{age_text(rv['median_latency_seconds']) or '-':>9}"),
            ("p90 wait", f"{age_text(rv['p90_latency_seconds']) or '-':>9}"),
            ("overrides", f"{rv['overrides']:>9,}" + (f"  ({rate:.0%} of decisions)" if rate is not None else "")),
        ],
    )
    ob = report["outbox"]
    lines += [""] + _table(
        "sync outbox",
        [("owed", f"{ob['owed']:>9,}")] + [(f"owed to {crm}", f"{n:>9,}") for crm, n in ob["by_crm"].items()],
    )
    run = report.get("last_run")
    if run:
        when = run.get("finished_at") or run.get("started_at")
        lines += [
            "",
            f"last run  {run['run_id']} ({run['kind']}) {run['status']} at {when}"
            + (f": {one_line(run['error'])}" if run.get("error") else ""),
        ]
    else:
        lines += ["", "last run  none yet"]
    lines += _recovery_lines(report.get("recovery") or {})
    lines += ["", "invariants"]
    for inv in report["invariants"]:
        mark = "ok    " if inv["ok"] else "BROKEN"
        lines.append(f"  {mark}  {inv['name']}: {one_line(inv['detail'])}")
    return terminal_safe("\n".join(lines))
