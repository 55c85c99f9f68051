"""The pipeline's decide step with LEADGATE_SCORER=llm on a real DuckDB file and the local emulator."""

from __future__ import annotations

import pytest

from connectors.llm import LlmConfigError, LlmSettings, OpenAISettings
from leadgate.config import REPO_DIR
from leadgate.pipeline import steps
from leadgate.store import db
from tests.emulators.openai_server import OpenAIEmulator
from tests.fixtures.scoring.frames import NOW, create_marts, test_policy

LEADS = 13


@pytest.fixture(scope="module")
def emulator():
    with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture
def llm_settings(settings, emulator, monkeypatch):
    """Settings with the LLM scorer, the marts fixture loaded, and the endpoint in the environment."""
    emulator.reset()
    for key, value in {
        "OPENAI_BASE_URL": emulator.base_url,
        "OPENAI_API_KEY": "sk-test",
        "LEADGATE_LLM_MODEL": "gpt-4o-mini",
        "LEADGATE_LLM_BATCH_SIZE": "2",
        "LEADGATE_LLM_CONCURRENCY": "1",
        "LEADGATE_LLM_BACKOFF_BASE": "0.01",
    }.items():
        monkeypatch.setenv(key, value)
    with db.connect(settings) as con:
        create_marts(con)
    return settings.model_copy(update={"scorer": "llm", "as_of": NOW})


def lifecycle(settings) -> dict[str, tuple[str, list[str]]]:
    with db.connect(settings) as con:
        return {
            lead: (state, list(codes))
            for lead, state, codes in con.execute(
                "select lead_id, state, reason_codes from lifecycle.lead_states"
            ).fetchall()
        }


def scored_by(settings) -> dict[str, int]:
    with db.connect(settings) as con:
        return dict(con.execute("select scorer, count(distinct lead_id) from scoring.scores group by 1").fetchall())


def llm_scored(settings) -> set[str]:
    with db.connect(settings) as con:
        return {
            r[0] for r in con.execute("select distinct lead_id from scoring.scores where scorer = 'llm'").fetchall()
        }


def test_the_token_budget_is_per_run_and_held_leads_are_scored_next_run(llm_settings, emulator, monkeypatch):
    monkeypatch.setenv("LEADGATE_LLM_MAX_TOKENS_PER_RUN", "4500")  # about two requests of two leads
    policy = test_policy()
    policy = policy.model_copy(update={"gate": policy.gate.model_copy(update={"max_failed_share": 1.0})})
    # three decide batches (5 + 5 + 3 leads): a fresh budget per batch would let each spend 4,500 tokens
    report = steps.decide_step(llm_settings, policy, "run-1", batch_size=5)
    with db.connect(llm_settings) as con:
        spent = con.execute("select coalesce(sum(tokens_in + tokens_out), 0) from scoring.llm_calls").fetchone()[0]
    assert report.batches == 3 and 0 < spent <= 4500
    states = lifecycle(llm_settings)
    unanswered = set(states) - llm_scored(llm_settings)
    held = {lead for lead, (state, codes) in states.items() if state == "pending"}
    gated = {lead for lead, (_, codes) in states.items() if any(c.startswith("gate:") for c in codes)}
    # every lead the model did not get to waits for the next run, except those the gate sent to a person
    assert held and unanswered == held | (gated & unanswered)
    assert {tuple(states[lead][1]) for lead in held} == {("llm_budget_exhausted",)}
    assert scored_by(llm_settings)["baseline"] == LEADS  # every lead's baseline is on record
    assert report.llm["leads"] == LEADS and report.llm["calls"] == len(emulator.requests)
    assert (
        report.llm["outcomes"]["pending"] == len(unanswered)
        and report.llm["tokens_in"] + report.llm["tokens_out"] == spent
    )

    monkeypatch.delenv("LEADGATE_LLM_MAX_TOKENS_PER_RUN")
    calls_before = len(emulator.requests)
    again = steps.decide_step(llm_settings, policy, "run-2")
    assert again.scored == len(held)  # the held leads, and only they, are picked again
    assert again.llm["calls"] == len(emulator.requests) - calls_before > 0
    assert "pending" not in {state for state, _ in lifecycle(llm_settings).values()}
    assert llm_scored(llm_settings) == set(states) - (gated & unanswered)


def test_a_bad_llm_setting_is_one_clear_error(llm_settings, monkeypatch):
    monkeypatch.setenv("LEADGATE_LLM_BATCH_SIZE", "0")
    with pytest.raises(LlmConfigError, match="LEADGATE_LLM_BATCH_SIZE: Input should be greater than or equal to 1"):
        steps.decide_step(llm_settings, test_policy(), "run-1")


def test_env_example_is_a_valid_llm_configuration(monkeypatch):
    for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    llm = LlmSettings(_env_file=REPO_DIR / ".env.example")
    assert (llm.model, llm.batch_size, llm.concurrency, llm.max_requests_per_min, llm.max_tokens_per_run) == (
        "gpt-4o-mini",
        20,
        8,
        None,
        None,
    )
    assert OpenAISettings(_env_file=REPO_DIR / ".env.example").base_url is None
