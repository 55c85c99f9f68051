"""LEADGATE_SCORER=llm on a promoted model: the LLM builds on the model's probability, as the policy's llm.with_model says.

Real parts: a model trained on outcomes and promoted in the registry, the decide step on a DuckDB file, and the
real openai client against the local emulator.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from leadgate.config import LeadgateSettings
from leadgate.model import registry
from leadgate.model.run import promoted_scorer
from leadgate.model.train import train
from leadgate.pipeline import steps
from leadgate.policy import load_policy
from leadgate.sample.outcomes import synthetic_lead_features
from leadgate.store import db
from tests.emulators.openai_server import OpenAIEmulator, heuristic_answer
from tests.fixtures.model.outcomes import import_drawn_outcomes, put_leads

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
LEADS = 200
TEXT_LEADS = 60  # leads that wrote "can we book a demo": the emulator reads strong intent in them
DEMO = "Could we book a demo next week? We are comparing vendors this quarter."
STRONG = {"qualification": "qualified", "fit_score": 0.9, "intent_score": 0.95, "confidence": 0.9}
LLM_VIEW = 0.45 * 0.9 + 0.55 * 0.95  # fit_share * fit_score + (1 - fit_share) * intent_score, the policy's defaults


def _policy(combine: str = "llm_adjusts", **with_model):
    policy = load_policy(LeadgateSettings(_env_file=None).policy)
    lp = policy.llm
    wm = lp.with_model.model_copy(update={"combine": combine, **with_model})
    return policy.model_copy(
        update={
            "gate": policy.gate.model_copy(update={"max_failed_share": 1.0}),
            "llm": lp.model_copy(update={"with_model": wm}),
        }
    )


def _reads_text(leads):
    """Strong intent where the lead wrote a message, `unknown` where there is no text to read."""
    answers = []
    for lead in leads:
        answer = heuristic_answer(lead)
        if lead.get("messages"):
            answers.append(answer | STRONG)
        else:
            answers.append(
                answer | {"qualification": "unknown", "intent_score": 0.4, "evidence": {"quotes": [], "features": []}}
            )
    return answers


@pytest.fixture(scope="module")
def promoted(tmp_path_factory):
    """A database with LEADS leads and outcomes, a model trained on them and promoted; TEXT_LEADS wrote a message."""
    root = tmp_path_factory.mktemp("llm-model")
    settings = LeadgateSettings(db=root / "lg.duckdb", inbox=root, as_of=NOW, lock_timeout=5, _env_file=None)
    leads = synthetic_lead_features(LEADS, seed=33, now=NOW)
    # a message spread over the model's whole range of probabilities: every third lead by id
    texted = sorted(leads["lead_id"])[::3][:TEXT_LEADS]
    leads["latest_message"] = [DEMO if lead in texted else None for lead in leads["lead_id"]]
    put_leads(settings, leads)
    steps.decide_step(settings, _policy(), "run-0")  # the decision snapshots the model learns from
    import_drawn_outcomes(settings, leads, 33, NOW, root)
    with db.connect(settings) as con:
        version = train(con, _policy(), settings.db_path, now=NOW + timedelta(days=61))["version"]
        registry.promote(con, version, "test")
        probability = dict(
            promoted_scorer(con, _policy()).score(leads, NOW)[["lead_id", "score"]].itertuples(index=False)
        )
    return settings, version, set(texted), probability


@pytest.fixture(scope="module")
def emulator():
    with OpenAIEmulator(score=_reads_text) as emu:
        yield emu


@pytest.fixture
def llm_run(promoted, emulator, tmp_path, monkeypatch):
    """A copy of the promoted database, the LLM scorer chosen, the endpoint in the environment."""
    settings, version, texted, probability = promoted
    shutil.copy(settings.db_path, tmp_path / "lg.duckdb")  # the model files stay where the registry says
    for key, value in {
        "OPENAI_BASE_URL": emulator.base_url,
        "OPENAI_API_KEY": "sk-test",
        "LEADGATE_LLM_MODEL": "gpt-4o-mini",
        "LEADGATE_LLM_BACKOFF_BASE": "0.01",
    }.items():
        monkeypatch.setenv(key, value)
    copy = settings.model_copy(update={"db": tmp_path / "lg.duckdb", "scorer": "llm"})
    return copy, version, texted, probability


def _scores(settings, run_id: str) -> dict[str, dict[str, tuple]]:
    """Per lead and scorer: (score, model_version, reasons) recorded in the run."""
    with db.connect(settings) as con:
        rows = con.execute(
            "select lead_id, scorer, score, model_version, reasons::varchar from scoring.scores where run_id = ?",
            [run_id],
        ).fetchall()
    out: dict[str, dict[str, tuple]] = {}
    for lead, scorer, score, version, reasons in rows:
        out.setdefault(lead, {})[scorer] = (score, version, reasons)
    return out


def _routed(settings) -> dict[str, tuple]:
    """Per lead: (state, reason codes, the scorer and model version of the score routing used)."""
    with db.connect(settings) as con:
        rows = con.execute(
            "select s.lead_id, s.state, s.reason_codes, c.scorer, c.model_version from lifecycle.lead_states s"
            " join scoring.scores c using (score_id)"
        ).fetchall()
    return {lead: (state, list(codes), scorer, version) for lead, state, codes, scorer, version in rows}


def test_model_only_scores_are_the_models_probabilities_and_record_its_version(llm_run):
    settings, version, texted, probability = llm_run
    report = steps.decide_step(settings, _policy("model_only"), "run-llm", rescore_all=True)
    scores = _scores(settings, "run-llm")
    assert len(scores) == LEADS and all(set(s) == {"model", "llm"} for s in scores.values())
    for lead, by in scores.items():
        assert by["llm"][0] == pytest.approx(by["model"][0]) == pytest.approx(probability[lead])
        assert by["llm"][1] == by["model"][1] == version
    said = [by["llm"][2] for lead, by in scores.items() if lead in texted]
    assert all("LLM: demo intent, qualified" in r and "the model decides" in r for r in said)
    routed = _routed(settings)
    assert {v[3] for v in routed.values()} == {version}  # every decision names the model version it used
    with db.connect(settings) as con:
        audited = con.execute("select distinct model_version from audit.decisions where run_id = 'run-llm'").fetchall()
    assert audited == [(version,)]
    assert report.model["champion"] == version and report.model["drift"]["psi"]  # the model's drift is still measured
    assert report.llm["leads"] == LEADS


def test_llm_adjusts_moves_a_strong_intent_lead_up_by_at_most_max_adjust(llm_run):
    settings, version, texted, probability = llm_run
    steps.decide_step(settings, _policy("llm_adjusts", max_adjust=0.1), "run-llm", rescore_all=True)
    scores = _scores(settings, "run-llm")
    moves = {lead: by["llm"][0] - by["model"][0] for lead, by in scores.items() if lead in texted}
    below = [lead for lead in texted if probability[lead] < LLM_VIEW]
    assert len(below) > 10
    for lead in below:
        expected = min(0.1, 0.6 * (LLM_VIEW - probability[lead]))  # llm_weight of the gap, capped
        assert 0 < moves[lead] <= 0.1 + 1e-9 and moves[lead] == pytest.approx(expected)
    assert sum(1 for lead in below if moves[lead] == pytest.approx(0.1)) > 5  # the cap is what held them
    untouched = [by["llm"][0] - by["model"][0] for lead, by in scores.items() if lead not in texted and "llm" in by]
    assert untouched and all(m == 0 for m in untouched)  # no text, `unknown`: the model's score stands
    assert all(by["llm"][1] == version for by in scores.values())


def test_a_large_disagreement_goes_to_review_with_the_reason_in_words(llm_run):
    settings, version, texted, probability = llm_run
    # a margin inside the spread of this model's probabilities, so that some texted leads are far and some near
    gaps = sorted(LLM_VIEW - probability[lead] for lead in texted)
    margin = round(gaps[len(gaps) // 2], 2)
    before = _routed(settings)
    steps.decide_step(settings, _policy("llm_adjusts", disagreement_margin=margin), "run-llm", rescore_all=True)
    routed = _routed(settings)
    far = {lead for lead in texted if LLM_VIEW - probability[lead] > margin}
    assert 10 < len(far) < len(texted) - 10
    assert all(routed[lead][0] == "needs_review" and "llm_disagrees_with_model" in routed[lead][1] for lead in far)
    assert all(routed[lead][2:] == ("llm", version) for lead in far)  # the score on record names the model
    assert not any("llm_disagrees_with_model" in routed[lead][1] for lead in set(routed) - far)
    with db.connect(settings) as con:
        summaries = dict(
            con.execute(
                "select lead_id, summary from review.items where status = 'pending' and list_contains(reason_codes, ?)",
                ["llm_disagrees_with_model"],
            ).fetchall()
        )
    # a lead already in review on the same features keeps its open item (opened once per feature hash)
    assert set(summaries) == {lead for lead in far if before[lead][0] != "needs_review"}
    lead, text = next(iter(summaries.items()))
    assert "the llm's reading of the lead's text and the trained model's score are far apart" in text.lower()
    assert f"LLM detail: the LLM reads the text as {LLM_VIEW:.2f} (qualified, demo intent), the model says" in text
    assert f"the model says {probability[lead]:.2f}: more than the policy's {margin:.2f} apart" in text


def test_after_rollback_the_llm_builds_on_the_baseline_again(llm_run):
    settings, version, texted, _ = llm_run
    with db.connect(settings) as con:
        assert registry.rollback(con, "test") == (version, None)
    report = steps.decide_step(settings, _policy("model_only"), "run-base", rescore_all=True)
    scores = _scores(settings, "run-base")
    assert all("baseline" in by and "model" not in by for by in scores.values())
    llm_versions = {by["llm"][1] for by in scores.values() if "llm" in by}
    assert llm_versions == {"gpt-4o-mini"}  # the LLM's model name, as before models existed
    moved = [by["llm"][0] != by["baseline"][0] for lead, by in scores.items() if lead in texted]
    assert all(moved)  # the baseline combination: llm_weight of the LLM's view, no with_model cap or model_only
    assert report.model is None
