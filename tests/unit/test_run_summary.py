"""The run summary an operator reads: what needs attention first, all-zero sections hidden, the counts below."""

from __future__ import annotations

import copy
import json

import pytest

from leadgate.cli.render_summary import render_text
from leadgate.pipeline.attention import attention_items, reason_kind
from leadgate.pipeline.report import render_markdown
from leadgate.pipeline.summary import attention_rows, shown_rows
from tests.conftest import FIXTURES


@pytest.fixture
def shadow_run() -> dict:
    """A shadow-mode run of a sample whose ids collided: 675 conflicting duplicates, 14 rejects, nothing owed."""
    return json.loads((FIXTURES / "summary" / "shadow_run.json").read_text(encoding="utf-8"))


def test_terminal_summary_leads_with_rejections_by_reason_and_conflicts(shadow_run):
    text = render_text(shadow_run)
    attention = text.index("NEEDS ATTENTION")
    assert attention < text.index("events (this run)")
    rejected, conflicts = text.index("14 record(s) rejected"), text.index("675 conflicting duplicate(s)")
    assert attention < rejected < conflicts < text.index("events (this run)")
    assert "9 × occurred_at '…' is not an ISO-8601 timestamp" in text
    assert "3 × missing required field event_id" in text
    assert "2 more with other reasons" in text


def test_all_zero_sections_are_hidden_and_named_once(shadow_run):
    rows, hidden = shown_rows(shadow_run)
    assert "sync (shadow, crm=none)" in hidden  # nothing owed, nothing sent: all zero
    assert all(r["section"] != "sync (shadow, crm=none)" for r in rows)
    text = render_text(shadow_run)
    assert "sync (shadow" not in text.split("(all zero, not shown:")[0]
    assert "(all zero, not shown: sync (shadow, crm=none))" in text
    markdown = render_markdown(shadow_run)
    assert "## sync" not in markdown and "All zero, not shown: sync (shadow, crm=none)." in markdown
    assert "## invariants" not in markdown and "invariants: all 5 ok" in markdown
    # a section with something in it keeps its zero rows: the full table
    leads = markdown.split("## leads by state")[1].split("##")[0]
    assert "| needs_review | 191 |" in leads and "| synced | 0 |" in leads


def test_markdown_artifact_puts_attention_above_the_full_table(shadow_run):
    markdown = render_markdown(shadow_run)
    assert (
        markdown.index("## Needs attention")
        < markdown.index("**14 record(s) rejected**")
        < markdown.index("**675 conflicting duplicate(s)**")
        < markdown.index("## events (this run)")
    )
    assert "| conflicts | 675 |" in markdown.split("## events (this run)")[1]
    table = attention_rows(shadow_run) + shown_rows(shadow_run)[0]
    assert [r["section"] for r in table[:2]] == ["needs attention", "needs attention"]
    assert table[0]["item"] == "14 record(s) rejected" and table[1]["item"] == "675 conflicting duplicate(s)"


def test_exception_rate_is_news_only_over_the_review_budget(shadow_run):
    # 40 of 500 decided leads to review: 8% is within the 15% budget, said in the headline only
    text = render_text(shadow_run)
    assert "exception rate 8.0% of 500 decided (review budget 15%)" in text.splitlines()[0]
    assert not any("exception rate" in a.headline for a in attention_items(shadow_run))
    over = copy.deepcopy(shadow_run)
    over["decide"]["routed"] = {"needs_review": 191, "nurture": 267, "qualified": 22, "pending": 20}
    headlines = [a.headline for a in attention_items(over)]
    assert "exception rate 39.8% is over the review budget of 15%" in headlines
    over["review_budget"] = 0.5
    assert not any("exception rate" in h for h in (a.headline for a in attention_items(over)))


def test_gate_blocks_crm_and_llm_errors_are_listed(shadow_run):
    run = copy.deepcopy(shadow_run)
    run["decide"].update(blocked_batches=1, gate_failures={"expect_column_values_to_not_be_null(company)": 7})
    run["sync"].update(rejected=3, retry=5)
    run["crm"] = "salesforce"
    run["decide"]["llm"] = {
        "model": "gpt-4o-mini",
        "calls": 10,
        "error_rate": 0.2,
        "outcomes": {"llm_error": 4, "ok": 30},
        "routes": {"pending": 6},
    }
    items = {a.headline: a.details for a in attention_items(run)}
    assert (
        items["1 batch(es) blocked by the quality gate"][1]
        == "7 lead(s) failed expect_column_values_to_not_be_null(company)"
    )
    assert items["CRM errors (salesforce)"] == [
        "3 lead(s) refused by the CRM (validation errors): now in review with the CRM's message",
        "5 lead(s) not delivered (limits, timeouts, server errors): still owed, retried next run",
    ]
    llm = items["LLM errors (gpt-4o-mini)"]
    assert llm[0] == "error rate 20.0% of 10 call(s)" and llm[1] == "4 × llm_error (sent to review)"
    assert "6 lead(s) wait for the LLM" in llm[2]


def test_a_clean_run_says_nothing_needs_attention(shadow_run):
    run = copy.deepcopy(shadow_run)
    run["ingest"].update(rejected=0, conflicts=0, duplicates=0)
    run["rejection_reasons"] = []
    text = render_text(run)
    assert "nothing needs attention" in text and "!!" not in text
    assert "Nothing needs attention." in render_markdown(run)


def test_a_broken_invariant_comes_first(shadow_run):
    run = copy.deepcopy(shadow_run)
    run["status"]["invariants"][0].update(ok=False, detail="3 events unaccounted for")
    first = attention_items(run)[0]
    assert first.headline.startswith("invariant broken:") and first.details == ["3 events unaccounted for"]
    assert "BROKEN: 3 events unaccounted for" in render_text(run)


def test_rejection_reasons_group_without_the_records_values():
    assert reason_kind("email 'bob@@example' is not a valid email address") == "email '…' is not a valid email address"
    assert reason_kind("line is not valid JSON: Unterminated string starting at column 136") == (
        "line is not valid JSON: Unterminated string starting at column N"
    )
    assert (
        reason_kind("occurred_at 'yesterday' is not an ISO-8601 timestamp")
        == "occurred_at '…' is not an ISO-8601 timestamp"
    )
