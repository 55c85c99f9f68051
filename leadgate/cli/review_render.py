"""Review items for the terminal: `leadgate review list` and `show` (the core hands over plain dicts)."""

from __future__ import annotations

from typing import Any

from leadgate.shared.neutral_text import indented, one_line, terminal_safe


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def _codes(value: Any) -> str:
    return ", ".join(value or [])


def format_item_table(items: list[dict[str, Any]]) -> str:
    """Review items as an aligned table (what `leadgate review list` prints)."""
    header = ("id", "lead", "name", "company", "score", "conf", "status", "age", "why")
    rows = [
        tuple(
            one_line(cell)
            for cell in (
                str(i["id"]),
                i["lead_id"],
                i.get("name") or "-",
                i.get("company") or "-",
                _num(i.get("score")),
                _num(i.get("confidence")),
                i.get("status") or "",
                i.get("age") or "",
                _codes(i.get("reason_codes")),
            )
        )
        for i in items
    ]
    widths = [max(len(h), *(len(r[n]) for r in rows)) for n, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return terminal_safe("\n".join(lines))


def format_item_detail(item: dict[str, Any]) -> str:
    """One review item in full (what `leadgate review show` prints); lead text cannot drive the terminal."""
    item = {k: one_line(v) if isinstance(v, str) and k != "latest_message" else v for k, v in item.items()}
    lines = [
        f"review item {item['item_id']}  [{item['status']}]  lead {item['lead_id']} (now {item.get('lead_state') or '-'})",
        f"  person      {item.get('full_name') or '-'} <{item.get('email') or '-'}>",
        f"  company     {item.get('company') or '-'}   title: {item.get('job_title') or '-'}",
        f"  machine     score {_num(item.get('score'))}, confidence {_num(item.get('confidence'))}"
        f"  (policy {item.get('policy_version') or '-'})",
        f"  why review  {_codes(item.get('reason_codes'))}",
        f"  summary     {item.get('summary') or '-'}",
        f"  created     {item.get('created_at')}",
    ]
    if item.get("decided_at"):
        lines.append(f"  decided     {item['decided_at']} by {item.get('reviewer') or '-'}")
    for label, key in (("note", "note"), ("question", "question")):
        if item.get(key):
            lines.append(f"  {label:<11} {item[key]}")
    if item.get("reasons"):
        lines.append("  scoring reasons")
        for reason in item["reasons"]:
            points = reason.get("points")
            shown = f"{float(points):+.1f}" if points is not None else ""
            lines.append(f"    {shown:>6}  {one_line(reason.get('detail') or reason.get('feature'))}")
    lines.append("  latest message")
    lines.append(indented(item.get("latest_message") or "-", "    "))
    if item.get("recent_events"):
        lines.append("  recent events")
        for event in item["recent_events"]:
            lines.append(
                "    "
                + one_line(
                    f"{event.get('occurred_at')}  {event.get('source') or ''}/{event.get('event_type') or ''}"
                    f"  {event.get('page_url') or ''}"
                )
            )
    if item.get("edits"):
        lines.append("  edits")
        for e in item["edits"]:
            lines.append(
                "    "
                + one_line(
                    f"{e['edited_at']}  {e['field']}: {e.get('original') or '-'} -> {e['edited']}  ({e['reviewer']})"
                )
            )
    if item.get("conflicts"):
        lines.append("  not applied")
        for c in item["conflicts"]:
            lines.append("    " + one_line(f"{c['submitted_at']}  {c['action']} by {c['reviewer']}: {c['reason']}"))
    if item.get("history"):
        lines.append("  decisions")
        for entry in item["history"]:
            lines.append(
                f"    {entry['decided_at']}  {entry['kind']:<7} {one_line(entry['actor']):<20} "
                f"{entry.get('from_state') or '-'} -> {entry.get('to_state') or '-'}  {_codes(entry.get('reason_codes'))}"
            )
    return terminal_safe("\n".join(lines))
