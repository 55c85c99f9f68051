"""Small server-side SVG charts for the metrics page: no JavaScript, presentation attributes only, labels escaped."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 52, 12, 28, 40
PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"]


def _fmt(value: float, kind: str) -> str:
    if kind == "%":
        return f"{value:.0%}"
    if kind == "h":
        return f"{value:.1f}h"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _frame(title: str, body: list[str], height: int = HEIGHT) -> str:
    t = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"'
        f' role="img" aria-label="{t}" font-family="sans-serif" font-size="11">'
        f'<title>{t}</title><text x="{PAD_LEFT}" y="16" font-size="13" font-weight="bold">{t}</text>'
        + "".join(body)
        + "</svg>"
    )


def _y_axis(top: float, kind: str, height: int) -> tuple[list[str], float]:
    top = top if top > 0 else 1.0
    if kind == "n":
        top = float(math.ceil(top / 4) * 4)  # counts: whole-number ticks
    plot_h = height - PAD_TOP - PAD_BOTTOM
    out = []
    for i in range(5):
        v = top * i / 4
        y = height - PAD_BOTTOM - plot_h * i / 4
        out.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#374151">{escape(_fmt(v, kind))}</text>'
        )
    return out, top


def _x_labels(labels: list[str], xs: list[float], height: int) -> list[str]:
    step = max(1, len(labels) // 8)  # at most ~8 labels under the axis
    return [
        f'<text x="{x:.1f}" y="{height - PAD_BOTTOM + 16}" text-anchor="middle" fill="#374151">{escape(str(lab))}</text>'
        for i, (lab, x) in enumerate(zip(labels, xs))
        if i % step == 0 or i == len(labels) - 1
    ]


def svg_line(title: str, labels: list[str], series: dict[str, list[float | None]], *, kind: str = "n") -> str:
    """Lines over shared x labels; a None value breaks the line (no data that period)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    axis, top = _y_axis(max(values, default=0.0), kind, HEIGHT)
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(labels), 1)
    xs = [PAD_LEFT + plot_w * (i + 0.5) / n for i in range(len(labels))]
    body = axis + _x_labels(labels, xs, HEIGHT)
    if not values:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#6b7280">no data</text>')
    for k, (name, vs) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        run: list[str] = []
        for x, v in zip(xs, vs):
            if v is None:
                if len(run) > 1:
                    body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
                run = []
                continue
            y = HEIGHT - PAD_BOTTOM - plot_h * (v / top)
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(name)}: {escape(_fmt(v, kind))}</title></circle>'
            )
        if len(run) > 1:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
        lx, ly = PAD_LEFT + k * 130, HEIGHT - 14  # the legend under the x labels
        body.append(
            f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly + 9}" fill="#111827">{escape(name)}</text>'
        )
    return _frame(title, body)


def svg_bars(title: str, labels: list[str], values: list[float], *, kind: str = "n") -> str:
    """Vertical bars, one per label, each with its value on top."""
    axis, top = _y_axis(max(values, default=0.0), kind, HEIGHT)
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(labels), 1)
    slot = plot_w / n
    xs = [PAD_LEFT + slot * (i + 0.5) for i in range(len(labels))]
    body = axis + _x_labels(labels, xs, HEIGHT)
    if not labels:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#6b7280">no data</text>')
    for x, label, v in zip(xs, labels, values):
        h = plot_h * (v / top)
        y = HEIGHT - PAD_BOTTOM - h
        body.append(
            f'<rect x="{x - slot * 0.35:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(str(label))}: {escape(_fmt(v, kind))}</title></rect>"
        )
        if v:
            body.append(
                f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle" fill="#111827">{escape(_fmt(v, kind))}</text>'
            )
    return _frame(title, body)


def svg_hbars(title: str, labels: list[str], values: list[float]) -> str:
    """Horizontal bars for long labels (reason codes), largest first as given."""
    row = 20
    height = PAD_TOP + row * max(len(labels), 1) + 10
    top = max(values, default=0.0) or 1.0
    label_w = 200
    plot_w = WIDTH - label_w - PAD_RIGHT - 50
    body = []
    if not labels:
        body.append(f'<text x="{WIDTH / 2}" y="{PAD_TOP + 14}" text-anchor="middle" fill="#6b7280">no data</text>')
    for i, (label, v) in enumerate(zip(labels, values)):
        y = PAD_TOP + i * row
        w = plot_w * v / top
        text = str(label) if len(str(label)) <= 30 else str(label)[:29] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="#111827">{escape(text)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" fill="#374151">{escape(_fmt(v, "n"))}</text>'
        )
    return _frame(title, body, height)


def report_charts(report: Any, *, period: str = "daily") -> dict[str, str]:
    """The metrics page's charts for a MetricsReport (or its dict): name -> SVG markup, safe to embed."""
    data = report.to_dict() if hasattr(report, "to_dict") else report
    rows = data[period]
    labels = [r["period"][5:] if period == "daily" else r["period"] for r in rows]

    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    charts = {
        "exception_rate": svg_line(
            "Exception rate (share of decided leads sent to review)",
            labels,
            {"exception rate": col("exception_rate")},
            kind="%",
        ),
        "latency": svg_line(
            "Review latency, queued to decided (hours)",
            labels,
            {"median": col("latency_median_hours"), "p90": col("latency_p90_hours")},
            kind="h",
        ),
        "sla_breaches": svg_bars(
            f"SLA breaches ({data['sla_business_hours']:g} business hours)", labels, col("sla_breaches")
        ),
        "override_rate": svg_line(
            "Override rate (people overruled the machine)", labels, {"override rate": col("override_rate")}, kind="%"
        ),
        "api_errors": svg_line(
            "API error and retry rates",
            labels,
            {
                "CRM errors": col("crm_error_rate"),
                "CRM retries": col("crm_retry_rate"),
                "LLM errors": col("llm_error_rate"),
                "LLM retries": col("llm_retry_rate"),
            },
            kind="%",
        ),
        "reasons": svg_hbars(
            "Why items were queued",
            [r["reason"] for r in data["top_reasons"]][:12],
            [r["items"] for r in data["top_reasons"]][:12],
        ),
    }
    if period == "daily":  # the five most frequent reasons, day by day
        top = [r["reason"] for r in data["top_reasons"][:5]]
        per_day = {(r["day"], r["reason"]): r["items"] for r in data["reasons"]}
        charts["reasons_over_time"] = svg_line(
            "Reasons over time (items queued per day)",
            labels,
            {code: [per_day.get((r["period"], code), 0) for r in rows] for code in top},
        )
    tiers = sorted({r["tier"] for r in data["score_distribution"]})
    bins = [f"{b / 10:.1f}-{(b + 1) / 10:.1f}" for b in range(10)]
    for tier in tiers:
        counts = {r["bin"]: r["decisions"] for r in data["score_distribution"] if r["tier"] == tier}
        charts[f"scores_{tier}"] = svg_bars(
            f"Scores of routing decisions, tier {tier}", bins, [counts.get(b, 0) for b in bins]
        )
    return charts
