"""Overrides of the machine, grouped and exported safely; the review SLA in business hours across a weekend."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from leadgate.review import sla
from leadgate.review.overrides import group_overrides, neutralise_cell, overrides_csv
from leadgate.store import db
from tests.fixtures.services import builders
from tests.review.conftest import BOB, CAROL, DAN


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_overrides_are_grouped_by_reason_tier_and_version_and_export_as_safe_csv(seeded):
    settings, service, ids, items = seeded
    with db.connect(settings) as con:
        score_id = builders.add_score(con, ids[CAROL], 0.7, 0.5)  # machine: qualified
        builders.route(con, ids[CAROL], "needs_review", ["ambiguous_fit"], score_id)
        carol = builders.open_item(con, ids[CAROL], ["ambiguous_fit"], score_id)
        con.execute("update review.items set tier = 'A' where item_id in (?, ?)", [items[ids[DAN]], carol])
        con.execute(
            "update marts.lead_features set last_name = 'Brown', company = 'Globex' where lead_id = ?", [ids[BOB]]
        )
    service.approve(items[ids[DAN]], "dana")  # 0.40: the machine would not sync
    service.reject(items[ids[BOB]], "dana", reason_code="other", reason='=HYPERLINK("http://x","click")')
    service.reject(carol, "lee", reason_code="competitor", reason=" @SUM(A1)")
    rows = service.overrides()
    assert sorted((r["item_id"], r["kind"]) for r in rows) == sorted(
        [
            (items[ids[DAN]], "approved_over_machine"),
            (items[ids[BOB]], "rejected_over_machine"),
            (carol, "rejected_over_machine"),
        ]
    )
    groups = group_overrides(rows)
    assert {(g["kind"], g["reason_code"], g["tier"], g["model_version"], g["count"]) for g in groups} == {
        ("approved_over_machine", "ambiguous_fit", "A", "baseline baseline-1", 1),
        ("rejected_over_machine", "missing_company", None, "baseline baseline-1", 1),
        ("rejected_over_machine", "ambiguous_fit", "A", "baseline baseline-1", 1),
    }
    parsed = list(csv.DictReader(io.StringIO(overrides_csv(rows))))
    notes = {int(r["item_id"]): (r["note"], r["reject_reason"]) for r in parsed}
    assert notes[items[ids[BOB]]] == ('\'=HYPERLINK("http://x","click")', "other")
    assert notes[carol] == ("'@SUM(A1)", "competitor")
    assert [neutralise_cell(v) for v in ("+1 555", "-2+3", "\t=1", "plain", -0.5, None)] == [
        "'+1 555",
        "'-2+3",
        "'\t=1",
        "plain",
        -0.5,
        "",
    ]


def test_the_sla_counts_business_hours_across_a_weekend(seeded):
    settings, service, ids, items = seeded
    policy = service.policy  # Monday to Friday, 09:00-17:00 UTC, 4 business hours
    friday_3pm = _utc(2026, 12, 4, 15, 0)
    assert sla.age_business_hours(friday_3pm, _utc(2026, 12, 5, 12, 0), policy) == 2.0  # Saturday: still 2
    assert sla.age_business_hours(friday_3pm, _utc(2026, 12, 7, 10, 0), policy) == 3.0  # Monday 10:00
    assert not sla.is_overdue(friday_3pm, _utc(2026, 12, 7, 10, 59), policy)
    assert sla.is_overdue(friday_3pm, _utc(2026, 12, 7, 11, 1), policy)
    assert sla.due_at(friday_3pm, policy) == _utc(2026, 12, 7, 11, 0)
    assert sla.overdue_cutoff(_utc(2026, 12, 7, 11, 0), policy) == friday_3pm
    saturday = _utc(2026, 12, 5, 10, 0)  # created on a weekend
    assert sla.due_at(saturday, policy) == _utc(2026, 12, 7, 13, 0)
    # Berlin hours across the end of daylight saving time (Sunday 25 October 2026).
    berlin = policy.model_copy(
        update={
            "review": policy.review.model_copy(
                update={"business_hours": policy.review.business_hours.model_copy(update={"timezone": "Europe/Berlin"})}
            )
        }
    )
    assert sla.age_business_hours(_utc(2026, 10, 23, 14, 0), _utc(2026, 10, 26, 9, 0), berlin) == 2.0
    with db.connect(settings) as con:
        con.execute("update review.items set created_at = ? where item_id = ?", [friday_3pm, items[ids[BOB]]])
        con.execute(
            "update review.items set created_at = ? where item_id = ?", [_utc(2026, 12, 7, 9, 30), items[ids[DAN]]]
        )
    assert service.overdue_count(now=_utc(2026, 12, 7, 12, 0)) == 1
    assert service.overdue_count(now=_utc(2026, 12, 7, 10, 0)) == 0
    assert sla.sla_of(friday_3pm, _utc(2026, 12, 7, 12, 0), policy)["overdue"] is True


@pytest.mark.parametrize("bad", [{"days": [7]}, {"start": "18:00", "end": "09:00"}, {"timezone": "Mars/Olympus"}])
def test_a_bad_business_hours_policy_is_one_clear_error(bad):
    from pydantic import ValidationError

    from leadgate.policy import BusinessHours

    with pytest.raises(ValidationError):
        BusinessHours(**bad)
