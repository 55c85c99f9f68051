"""The run summary as terminal text, from the same report the Prefect artifact is made of."""

from __future__ import annotations

from typing import Any

from leadgate.pipeline.report import run_report
from leadgate.shared.neutral_text import terminal_safe


def render_text(summary: dict[str, Any]) -> str:
    """What `leadgate run` prints: what needs attention first, then the non-zero sections, aligned."""
    report = run_report(summary)
    width_item = max((len(str(item)) for s in report.sections for item, _ in s.rows), default=10)
    lines = [f"leadgate run {report.run_id}  ({report.headline})", ""]
    lines.append("NEEDS ATTENTION" if report.attention else "nothing needs attention")
    for item in report.attention:
        lines.append(f"  !! {item.headline}")
        lines += [f"       {detail}" for detail in item.details]
    for section in report.sections:
        lines.append(f"\n{section.name}")
        lines += [f"  {item!s:<{width_item}}  {value}" for item, value in section.rows]
    if report.hidden:
        lines.append(f"\n(all zero, not shown: {', '.join(report.hidden)})")
    return terminal_safe("\n".join(lines))
