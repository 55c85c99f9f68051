"""The review budget: a run over it says so with the three reason codes that sent most leads to review."""

from __future__ import annotations

import json
from collections import Counter

from leadgate.cli.render_summary import render_text
from leadgate.pipeline.attention import review_reason_counts
from leadgate.pipeline.report import render_markdown
from leadgate.store import db
from tests.conftest import FIXTURES
from tests.fixtures.scoring.frames import create_marts, test_policy
from tests.integration.test_routing_db import decide


def run_summary(routed: dict[str, int], reasons: dict[str, int], budget: float) -> dict:
    summary = json.loads((FIXTURES / "summary" / "shadow_run.json").read_text(encoding="utf-8"))
    summary["decide"].update(routed=routed, review_reasons=reasons)
    summary["review_budget"] = budget
    return summary


def test_a_run_over_budget_names_its_top_three_reasons_and_one_within_does_not(settings):
    with db.connect(settings) as con:
        create_marts(con)
        _, routed = decide(con, test_policy(), run_id="r1")
        reasons = review_reason_counts(con, "r1")
        in_review = con.execute(
            "select reason_codes from lifecycle.lead_states where state = 'needs_review'"
        ).fetchall()
        _, again = decide(con, test_policy(), run_id="r2")  # nothing changed: nothing decided, no reasons
        assert again == {} and review_reason_counts(con, "r2") == {}
    assert reasons == dict(Counter(code for (codes,) in in_review for code in codes))
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert len(reasons) > 3 and top[0][1] >= top[2][1]

    review, decided = routed["needs_review"], sum(routed.values())
    over = run_summary(routed, reasons, budget=0.15)
    text, markdown = render_text(over), render_markdown(over)
    rate = f"{review / decided:.1%}"
    assert f"!! exception rate {rate} is over the review budget of 15%" in text
    line = (
        f"top reasons: {top[0][0]} ({top[0][1]} lead{'s' if top[0][1] != 1 else ''}), {top[1][0]} ({top[1][1]}),"
        f" {top[2][0]} ({top[2][1]}) (a lead can have several)"
    )
    assert f"       {line}" in text and f"  - {line}" in markdown
    assert f"exception rate {rate} of {decided} decided (review budget 15%)" in text.splitlines()[0]

    within = run_summary(routed, reasons, budget=0.9)
    text = render_text(within)
    assert "over the review budget" not in text and "top reasons" not in text
    assert f"exception rate {rate} of {decided} decided (review budget 90%)" in text.splitlines()[0]
