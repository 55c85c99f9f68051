"""Behaviour-trigger windows on marts.lead_events, and what a tiered routing records (states, audit, queue, payload)."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from leadgate.review.service import ReviewService
from leadgate.routing.rules import apply_routes, route_leads
from leadgate.scoring.baseline import BaselineScorer, leads_to_score, record_scores, sync_pending_leads
from leadgate.store import db
from leadgate.store.trigger_counts import trigger_counts, with_trigger_counts
from leadgate.sync.payload import current_payloads
from tests.fixtures.routing.policies import tiered_policy
from tests.fixtures.scoring.frames import NOW, create_marts


@pytest.fixture
def policy():
    return tiered_policy()


@pytest.fixture
def con(settings):
    with db.connect(settings) as connection:
        create_marts(connection)
        yield connection


def _events(con, lead_id, event_type, days_ago, url="https://example.com/pricing"):
    for n, days in enumerate(days_ago):
        con.execute(
            "insert into marts.lead_events (lead_id, source, event_id, event_type, occurred_at, page_url)"
            " values (?, 'web', ?, ?, ?, ?)",
            [lead_id, f"{lead_id}-t{event_type}{n}", event_type, NOW - timedelta(days=days), url],
        )


def test_trigger_counts_respect_window_and_url(con, policy):
    con.execute("delete from marts.lead_events")
    _events(con, "at_threshold", "pricing_view", [0.5, 3, 6.9])
    _events(con, "one_outside", "pricing_view", [1, 2, 8])  # the third is 8 days back: outside 7
    _events(con, "on_the_edge", "pricing_view", [1, 2, 7])  # exactly 7 days back: outside (window is open there)
    _events(con, "in_the_future", "pricing_view", [1, 2, -1])  # after the scoring time: not yet seen
    _events(con, "compares", "content_download", [20], "https://example.com/resources/Acme-VS-Rival.pdf")
    _events(con, "compared_long_ago", "content_download", [31], "https://example.com/compare.pdf")
    _events(con, "other_download", "content_download", [2], "https://example.com/playbook.pdf")
    leads = [
        "at_threshold",
        "one_outside",
        "on_the_edge",
        "in_the_future",
        "compares",
        "compared_long_ago",
        "other_download",
        "silent",
    ]
    counts = trigger_counts(con, leads, policy, NOW).set_index("lead_id")
    assert "silent" not in counts.index and "compared_long_ago" not in counts.index  # nothing in any window
    joined = with_trigger_counts(con, pd.DataFrame({"lead_id": leads}), policy, NOW).set_index("lead_id")
    assert joined["trigger:pricing_burst"].to_dict() == {
        "at_threshold": 3,
        "one_outside": 2,
        "on_the_edge": 2,
        "in_the_future": 2,
        "compares": 0,
        "compared_long_ago": 0,
        "other_download": 0,
        "silent": 0,
    }
    assert joined["trigger:competitor_comparison"].to_dict() == {
        "at_threshold": 0,
        "one_outside": 0,
        "on_the_edge": 0,
        "in_the_future": 0,
        "compares": 1,
        "compared_long_ago": 0,
        "other_download": 0,
        "silent": 0,
    }


def _decide(con, policy):
    sync_pending_leads(con)
    features = leads_to_score(con)
    scorer = BaselineScorer(policy)
    recorded = record_scores(con, scorer.score(features, NOW), "run1", policy)
    frame = with_trigger_counts(con, features.drop(columns=["feature_hash"]).merge(recorded, on="lead_id"), policy, NOW)
    decisions = route_leads(frame, None, policy)
    apply_routes(con, decisions, frame, run_id="run1", policy=policy, scorer_version=scorer.version)
    return {d.lead_id: d for d in decisions}


def test_tier_next_action_priority_and_unknowns_are_recorded_and_synced(settings, policy):
    with db.connect(settings) as con:
        create_marts(con)
        _events(con, "ld_check_q", "pricing_view", [1, 2, 3])  # qualified and hot
        _events(con, "ld_cold_ic", "pricing_view", [1, 2, 3])  # not qualified: review for the signal
        decisions = _decide(con, policy)
        _check_recorded(con)
    # the queue, highest priority first: the named account and the signal before the rest
    listed = ReviewService(settings, policy).list_items()
    assert [row["lead_id"] for row in listed[:2]] == ["ld_globex", "ld_cold_ic"]
    assert [row["priority"] for row in listed] == sorted((row["priority"] for row in listed), reverse=True)
    with db.connect(settings) as con:
        payloads = {r.lead_id: json.loads(r.payload) for r in current_payloads(con, policy).itertuples()}
    assert (payloads["ld_check_q"]["next_action"], payloads["ld_check_q"]["hot_signals"]) == (
        "sdr_call_now",
        ["pricing_burst"],
    )
    assert (payloads["ld_hot_vp"]["next_action"], payloads["ld_hot_vp"]["hot_signals"]) == ("ae_notify", [])
    assert decisions["ld_check_q"].hot == ("pricing_burst",)


def _check_recorded(con):
    states = {
        r[0]: r[1:]
        for r in con.execute("select lead_id, state, tier, next_action from lifecycle.lead_states").fetchall()
    }
    assert states["ld_hot_vp"] == ("qualified", "enterprise", "ae_notify")
    assert states["ld_check_q"] == ("qualified", "smb", "sdr_call_now")
    assert states["ld_cold_ic"] == ("needs_review", "smb", "sdr_call_now")
    assert states["ld_globex"] == ("needs_review", "named_account", "ae_notify")
    assert all(tier is not None and action is not None for _, tier, action in states.values())
    audit = {
        r[0]: (r[1], r[2])
        for r in con.execute(
            "select lead_id, tier, next_action from audit.decisions where kind = 'route' and actor = 'policy:baseline'"
        ).fetchall()
    }
    assert audit["ld_check_q"] == ("smb", "sdr_call_now")
    items = {
        r[0]: r[1:]
        for r in con.execute(
            "select lead_id, tier, next_action, priority, unknowns, reason_codes from review.items"
        ).fetchall()
    }
    globex = items["ld_globex"]
    assert globex[:2] == ("named_account", "ae_notify") and globex[2] > 10
    [size] = json.loads(globex[3])
    assert size["field"] == "company_size" and size["decides"] == "qualified vs nurture"
    assert items["ld_cold_ic"][4][0] == "high_intent_signal:pricing_burst" and items["ld_cold_ic"][2] > 10
