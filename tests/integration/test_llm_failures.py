"""LLM scoring failure paths against the emulator: every fault ends in the right outcome, nothing lost."""

from __future__ import annotations

import time

import pytest

from connectors.llm import LlmConfigError
from leadgate.store import db
from tests.integration.test_llm_scorer import (  # noqa: F401  (fixtures are found by name)
    _server,
    assert_nothing_lost,
    emu,
    lead_frame,
    run_llm,
    synthetic_rows,
)

# --- failures: nothing lost, the right outcome ------------------------------------------------
# Most cases use "not interested" leads (template 2): a batch of qualified answers would also be confirmed
# lead by lead (see test_llm_independence.py), which is not what these tests count.


@pytest.mark.parametrize(
    "fault", ["invalid_json", "schema_violation", "truncated", "refusal", "wrong_leads", "extra_leads"]
)
def test_a_bad_answer_is_retried_once_as_smaller_batches(settings, emu, fault):
    frame = lead_frame(synthetic_rows(20, template=2))
    emu.fail_next(fault)
    result = run_llm(settings, emu, frame)
    assert_nothing_lost(frame, result)
    assert [len(r.leads) for r in emu.scored("score")] == [20, 10, 10]
    assert set(result.final["llm_outcome"]) == {"ok"}
    with db.connect(settings) as con:
        outcomes = [
            r[0]
            for r in con.execute(
                "select outcome from scoring.llm_calls where kind = 'score' order by called_at"
            ).fetchall()
        ]
    assert outcomes[0] == fault.replace("extra_leads", "wrong_leads") and outcomes[1:] == ["ok", "ok"]


@pytest.mark.parametrize("fault", ["invalid_json", "schema_violation", "truncated", "refusal", "wrong_leads"])
def test_a_persistent_bad_answer_ends_in_review_as_llm_error(settings, emu, fault):
    frame = lead_frame(synthetic_rows(20, template=1))
    emu.fault_fn = lambda request: fault if request.kind == "score" else None
    result = run_llm(settings, emu, frame)
    assert_nothing_lost(frame, result)
    assert len(emu.scored("score")) == 3  # the batch, then each half once
    final = result.final
    assert set(final["llm_outcome"]) == {"llm_error"} and set(final["llm_route"]) == {"review"}
    assert all(codes == ["llm_error"] for codes in final["llm_reason_codes"])
    assert (final["score"] == final["baseline_score"]).all() and set(final["scorer"]) == {"baseline"}


def test_missing_leads_are_asked_again_alone(settings, emu):
    frame = lead_frame(synthetic_rows(20, template=2))
    emu.fail_next("missing_leads")
    result = run_llm(settings, emu, frame)
    assert [len(r.leads) for r in emu.scored("score")] == [20, 1]
    assert set(result.final["llm_outcome"]) == {"ok"}


def test_429_is_retried_after_retry_after(settings, emu):
    frame = lead_frame(synthetic_rows(5, template=2))
    emu.fail_next("429", retry_after=0.4)
    started = time.perf_counter()
    result = run_llm(settings, emu, frame)
    assert time.perf_counter() - started >= 0.4
    assert [r.status for r in emu.scored("score")] == [429, 200]
    assert set(result.final["llm_outcome"]) == {"ok"}


def test_5xx_and_timeouts_are_retried_with_backoff(settings, emu):
    frame = lead_frame(synthetic_rows(5, template=2))
    emu.fail_next("500", times=2)
    emu.fail_next("slow", delay=1.5)
    result = run_llm(settings, emu, frame, timeout=0.5)
    with db.connect(settings) as con:
        outcomes = [
            r[0]
            for r in con.execute(
                "select outcome from scoring.llm_calls where kind = 'score' order by called_at"
            ).fetchall()
        ]
    assert outcomes == ["server_error", "server_error", "timeout", "ok"]
    assert set(result.final["llm_outcome"]) == {"ok"}


def test_an_endpoint_that_stays_down_leaves_leads_pending(settings, emu):
    frame = lead_frame(synthetic_rows(25, template=1))
    emu.fault_fn = lambda request: "500"
    result = run_llm(settings, emu, frame, max_retries=2)
    assert_nothing_lost(frame, result)
    assert len(emu.requests) == 2 * 3
    assert set(result.final["llm_route"]) == {"pending"}
    assert all(codes == ["llm_unavailable"] for codes in result.final["llm_reason_codes"])


def test_a_bad_key_is_one_clear_error(settings, emu):
    emu.fail_next("401")
    with pytest.raises(LlmConfigError, match="OPENAI_API_KEY"):
        run_llm(settings, emu, lead_frame(synthetic_rows(2)))
    with db.connect(settings) as con:
        assert con.execute("select count(*) from scoring.llm_calls").fetchall() == [(1,)]
