"""`leadgate metrics`: the review loop's health per day and week, as aligned tables or one JSON document."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

COLUMNS = [  # (heading, field, kind)
    ("queued", "queued", "n"),
    ("decided", "decided", "n"),
    ("exceptions", "exception_rate", "%"),
    ("median", "latency_median_hours", "h"),
    ("p90", "latency_p90_hours", "h"),
    ("SLA breaches", "sla_breaches", "n"),
    ("overrides", "override_rate", "%"),
    ("CRM errors", "crm_error_rate", "%"),
    ("CRM retries", "crm_retry_rate", "%"),
    ("LLM errors", "llm_error_rate", "%"),
    ("LLM retries", "llm_retry_rate", "%"),
]


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{value:.1%}"
    if kind == "h":
        return f"{value:.1f}h"
    return f"{value:,}"


def table(headings: list[str], rows: list[list[str]]) -> list[str]:
    """Right-aligned columns (the first left-aligned), a rule under the headings."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headings), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _period_rows(periods: list[Any], total: Any | None = None) -> list[list[str]]:
    rows = [[p.period] + [_cell(getattr(p, f), k) for _, f, k in COLUMNS] for p in periods]
    if total is not None:
        rows.append(["total"] + [_cell(getattr(total, f), k) for _, f, k in COLUMNS])
    return rows


def format_report(report: Any) -> str:
    """The report as the terminal shows it."""
    from leadgate.shared.neutral_text import one_line, terminal_safe

    heads = [h for h, _, _ in COLUMNS]
    out = [
        f"review metrics: {report.days} day(s) from {report.since} to {report.as_of[:16].replace('T', ' ')} UTC"
        f" (SLA {report.sla_business_hours:g} business hours, {report.business_hours})",
        f"pending {report.pending:,}, overdue {report.overdue:,}",
        "",
        "per day",
    ]
    out += table(["day"] + heads, _period_rows(report.daily, report.totals))
    out += ["", "per week (from Monday)"]
    out += table(["week"] + heads, _period_rows(report.weekly))
    out += ["", "why items were queued"]
    out += (
        table(["reason", "items"], [[one_line(r["reason"]), f"{r['items']:,}"] for r in report.top_reasons])
        if report.top_reasons
        else ["  none"]
    )
    out += ["", "score distribution of routing decisions per tier"]
    out += (
        table(
            ["tier", "score", "decisions"],
            [[one_line(r["tier"]), r["bin"], f"{r['decisions']:,}"] for r in report.score_distribution],
        )
        if report.score_distribution
        else ["  none"]
    )
    out += ["", "per model version (overrides in the window; drift of its last run; policy model.*)"]
    out += model_lines(report.models)
    return terminal_safe("\n".join(out))


def model_lines(models: list[dict[str, Any]]) -> list[str]:
    """One row per model version: override rate, latest drift, retrain due and why."""
    from leadgate.shared.neutral_text import one_line

    if not models:
        return ["  none"]
    rows = []
    for m in models:
        drift = m["drift"]
        if drift is None:
            drifted = "-"
        elif drift["drifted"]:
            drifted = "DRIFT " + ", ".join(f"{one_line(f)} {p:.2f}" for f, p in drift["drifted"].items())
        else:
            drifted = f"none (max {drift['max_psi']:.2f})"
        due = m["retrain_due"]
        name = one_line(m["model_version"]) + (f" ({m['alias']})" if m["alias"] else "")
        rows.append(
            [
                name,
                f"{m['decisions']:,}",
                _cell(m["override_rate"], "%"),
                drifted,
                "-" if due is None else ("due" if due else "no"),
            ]
        )
    lines = table(["version", "decisions", "overrides", "latest drift (PSI)", "retrain"], rows)
    for m in models:
        if m["retrain_due"]:
            lines.append(
                f"retrain due for {one_line(m['model_version'])}: {'; '.join(m['retrain_due'])} (`leadgate model train`)"
            )
    return lines


def metrics(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
    days: Annotated[int, typer.Option("--days", help="how many days back (today included), 1 to 3660")] = 30,
) -> None:
    """The review loop's health per day and week: exceptions, latency, SLA breaches, overrides, CRM/LLM errors."""
    from leadgate.config import LeadgateSettings
    from leadgate.review.metrics import metrics_report

    if not 1 <= days <= 3660:
        raise ValueError(f"--days must be between 1 and 3660, got {days}")
    report = metrics_report(LeadgateSettings(), days=days)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        typer.echo(format_report(report))
