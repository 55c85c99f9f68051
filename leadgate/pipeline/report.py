"""The run report as plain data (headline, what needs attention, sections of rows) and its markdown form.

One model, two renderings: the Prefect flow publishes `render_markdown` as an artifact, the command
line renders the same `RunReport` as terminal text (leadgate/cli/render_summary.py). Markdown lives
here, not in flows/, because it is a pure formatter the import contracts let every layer use; terminal
text lives in leadgate.cli, since the core renders no terminal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadgate.pipeline.attention import Attention, attention_items
from leadgate.pipeline.summary import headline, shown_rows


@dataclass(frozen=True)
class Section:
    name: str
    rows: list[tuple[str, Any]] = field(default_factory=list)  # (item, value)


@dataclass(frozen=True)
class RunReport:
    run_id: Any
    headline: str  # policy, sync mode, exception rate and budget, invariants
    attention: list[Attention]
    sections: list[Section]  # all-zero sections left out
    hidden: list[str]  # the names of the sections left out


def run_report(summary: dict[str, Any]) -> RunReport:
    """The report of one run's summary (the dict the flow returns and meta.runs.summary keeps)."""
    rows, hidden = shown_rows(summary)
    sections: list[Section] = []
    for row in rows:
        if not sections or sections[-1].name != row["section"]:
            sections.append(Section(row["section"]))
        sections[-1].rows.append((row["item"], row["value"]))
    return RunReport(summary.get("run_id"), headline(summary), attention_items(summary), sections, hidden)


def _cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def render_markdown(summary: dict[str, Any]) -> str:
    """The run report as markdown (the Prefect artifact `leadgate-run-report`)."""
    report = run_report(summary)
    out = [f"# leadgate run `{report.run_id}`", "", report.headline, "", "## Needs attention", ""]
    for item in report.attention:
        out.append(f"- **{item.headline}**")
        out += [f"  - {detail}" for detail in item.details]
    if not report.attention:
        out.append("Nothing needs attention.")
    for section in report.sections:
        out += ["", f"## {section.name}", "", "| item | value |", "| --- | --- |"]
        out += [f"| {_cell(item)} | {_cell(value)} |" for item, value in section.rows]
    if report.hidden:
        out += ["", f"All zero, not shown: {', '.join(report.hidden)}."]
    return "\n".join(out) + "\n"
