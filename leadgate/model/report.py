"""`leadgate model report V`: one self-contained HTML page (inline SVG, no external assets) about a version."""

from __future__ import annotations

import html

import numpy as np

W, H, PAD = 360, 260, 36


def _xy(x: float, y: float) -> tuple[float, float]:
    return PAD + x * (W - 2 * PAD), H - PAD - y * (H - 2 * PAD)


def _frame(title: str, xlabel: str, ylabel: str, body: str) -> str:
    x0, y0 = _xy(0, 0)
    x1, y1 = _xy(1, 1)
    ticks = "".join(
        f'<text x="{_xy(v, 0)[0]:.1f}" y="{y0 + 14:.1f}" font-size="10" text-anchor="middle">{v:g}</text>'
        f'<text x="{x0 - 6:.1f}" y="{_xy(0, v)[1] + 3:.1f}" font-size="10" text-anchor="end">{v:g}</text>'
        for v in (0, 0.5, 1)
    )
    return (
        f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="{html.escape(title)}">'
        f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#999"/>{ticks}{body}'
        f'<text x="{W / 2}" y="{H - 4}" font-size="11" text-anchor="middle">{html.escape(xlabel)}</text>'
        f'<text x="10" y="{H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 10 {H / 2})">{html.escape(ylabel)}</text>'
        f"</svg><figcaption>{html.escape(title)}</figcaption></figure>"
    )


def _polyline(points, color: str, dash: str = "") -> str:
    pts = " ".join("{:.1f},{:.1f}".format(*_xy(x, y)) for x, y in points)
    return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" {dash}/>'


def roc_svg(points: list, auc: float | None) -> str:
    body = _polyline([(0, 0), (1, 1)], "#bbb", 'stroke-dasharray="4"') + _polyline(points, "#1f77b4")
    return _frame(
        f"ROC curve (held-out AUC {auc:.3f})" if auc is not None else "ROC curve",
        "false positive rate",
        "true positive rate",
        body,
    )


def reliability_svg(bins: list[dict], ece: float) -> str:
    dots = "".join(
        '<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="#d62728"/>'.format(
            *_xy(b["mean_p"], b["rate"]), 2 + min(6, b["n"] ** 0.5 / 4)
        )
        for b in bins
    )
    body = (
        _polyline([(0, 0), (1, 1)], "#bbb", 'stroke-dasharray="4"')
        + _polyline([(b["mean_p"], b["rate"]) for b in bins], "#d62728")
        + dots
    )
    return _frame(
        f"Reliability: predicted vs observed conversion (ECE {ece:.3f})", "predicted probability", "observed rate", body
    )


def distribution_svg(p: np.ndarray, y: np.ndarray, bins: int = 20) -> str:
    edges = np.linspace(0, 1, bins + 1)
    body = ""
    for cls, color in ((0, "#7f7f7f"), (1, "#2ca02c")):
        counts = np.histogram(p[y == cls], edges)[0].astype(float)
        share = counts / max(1, counts.sum())
        body += _polyline(
            [(edges[i] + 0.5 / bins, min(1, share[i] / max(share.max(), 1e-9))) for i in range(bins)], color
        )
    body += (
        '<text x="250" y="50" font-size="11" fill="#2ca02c">converted</text>'
        '<text x="250" y="64" font-size="11" fill="#7f7f7f">not converted</text>'
    )
    return _frame("Score distribution by outcome (held-out, each scaled to its peak)", "score", "share of leads", body)


def tradeoff_svg(table: list[dict]) -> str:
    pts = [(1 - r["coverage"], r["accuracy"]) for r in table]
    body = _polyline(pts, "#9467bd") + "".join(
        '<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="#9467bd"/>'.format(*_xy(x, yv)) for x, yv in pts
    )
    return _frame(
        "Threshold trade-off: review share vs accuracy of automatic decisions",
        "share sent to review",
        "accuracy of automatic decisions",
        body,
    )


def importance_svg(importance: dict[str, float], top: int = 12) -> str:
    items = sorted(importance.items(), key=lambda kv: -kv[1])[:top]
    peak = max([v for _, v in items] + [1e-9])
    rows = "".join(
        f'<text x="170" y="{20 + i * 20}" font-size="11" text-anchor="end">{html.escape(k)}</text>'
        f'<rect x="176" y="{9 + i * 20}" width="{170 * v / peak:.1f}" height="14" fill="#ff7f0e"/>'
        f'<text x="{180 + 170 * v / peak:.1f}" y="{20 + i * 20}" font-size="10">{v * 100:.1f}</text>'
        for i, (k, v) in enumerate(items)
    )
    return (
        f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{W + 40}" height="{30 + 20 * len(items)}">{rows}</svg>'
        "<figcaption>Feature importance: mean |contribution| in probability points</figcaption></figure>"
    )


def render(record: dict, doc: dict, heldout: dict, thresholds: dict) -> str:
    """The page: headline metrics, then the five pictures."""
    m = record["metrics"]["heldout"]
    p, y = np.asarray(heldout["p"], float), np.asarray(heldout["y"], int)

    def fmt(v):
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))

    cells = [
        ("version", record["version"]),
        ("family", record["family"]),
        ("calibration", record["calibration"]),
        ("held-out leads", m["leads"]),
        ("ROC AUC", m["roc_auc"]),
        ("Brier", m["brier"]),
        ("ECE", m["ece"]),
        ("precision at threshold", m["at_precision"]),
        ("recall at threshold", m["at_recall"]),
        ("sent to review (bands)", m["bands"]["review_share"]),
        ("training fingerprint", record["fingerprint"][:16]),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{fmt(v)}</td></tr>" for k, v in cells)
    rows = "".join(
        f"<tr><td>{r['review_budget']:.0%}</td><td>{r['threshold']:.2f}</td><td>{r['auto_confidence']:.2f}</td>"
        f"<td>{r['check_confidence']:.2f}</td><td>{r['review_share']:.1%}</td><td>{r['accuracy']:.1%}</td></tr>"
        for r in thresholds["table"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadgate model {html.escape(record["version"])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}figure{{display:inline-block;margin:1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}}</style></head>
<body><h1>Model {html.escape(record["version"])}</h1>
<p>Every figure is on held-out leads the model never trained on ({m["leads"]} leads, {m["converted"]} converted).</p>
<table>{table}</table>
{roc_svg(heldout["roc"], m["roc_auc"])}{reliability_svg(heldout["reliability"], m["ece"])}
{distribution_svg(p, y)}{importance_svg(doc.get("importance", {}))}{tradeoff_svg(thresholds["table"])}
<h2>Threshold trade-off</h2><table><tr><th>review budget</th><th>threshold</th><th>auto band</th><th>check band</th>
<th>sent to review</th><th>accuracy of automatic decisions</th></tr>{rows}</table>
</body></html>
"""
