"""`LEADGATE_SCORER=llm leadgate run` on the bundled sample, through Prefect, against the local OpenAI emulator."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import cli_env, leadgate, query, run_json, scalar
from tests.emulators.openai_server import (
    OpenAIEmulator,
    gullible_score,
    gullible_validate,
    heuristic_score,
    heuristic_validate,
)

pytestmark = pytest.mark.slow

MODEL = "gpt-4o"  # priced in the default policy, so the run has a cost to show
INJECTOR = "eve.mallory@initech-labs.com"
BYSTANDER = "oliver.byrne@pebble-analytics.com"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "llm" / "late_leads.jsonl"
POLITE = FIXTURE.with_name("polite_injection_leads.jsonl")


def llm_env(work: Path, emulator: OpenAIEmulator, prefect_api: str) -> dict[str, str]:
    return cli_env(
        work / "leadgate.duckdb",
        work / "inbox",
        prefect_api,
        LEADGATE_SCORER="llm",
        LEADGATE_LLM_MODEL=MODEL,
        OPENAI_BASE_URL=emulator.base_url,
        OPENAI_API_KEY="sk-e2e",
        # an outage should not cost the test minutes of back-off
        LEADGATE_LLM_MAX_RETRIES="1",
        LEADGATE_LLM_BACKOFF_BASE="0.01",
    )


def copy_sample(work: Path) -> Path:
    inbox = work / "inbox"
    shutil.copytree(SAMPLE_DIR, inbox, ignore=shutil.ignore_patterns("*.md"))
    return inbox


@pytest.fixture(scope="module")
def emulator():
    with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, prefect_api, emulator):
    """One LLM-scored run of the pipeline on a copy of data/sample."""
    work = tmp_path_factory.mktemp("llm-e2e")
    copy_sample(work)
    env = llm_env(work, emulator, prefect_api)
    summary = run_json(env)
    return {
        "work": work,
        "db": work / "leadgate.duckdb",
        "env": env,
        "summary": summary,
        "requests": len(emulator.requests),
    }


def states(db: Path) -> dict[str, tuple[str, list[str]]]:
    rows = query(db, "select lead_id, state, reason_codes from lifecycle.lead_states")
    return {lead: (state, list(codes)) for lead, state, codes in rows}


def run_summary(db: Path, run_id: str) -> dict:
    return json.loads(scalar(db, "select summary::varchar from meta.runs where run_id = ?", [run_id]))


# --- PII: what the sample knows about people ---------------------------------------------------


def sample_people() -> dict[str, set[str]]:
    """Every email, phone and name in the sample files (fields and emails written into messages)."""
    people: dict[str, set[str]] = {"emails": set(), "phones": set(), "names": set()}
    records: list[dict] = []
    for path in sorted(SAMPLE_DIR.iterdir()):
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # the sample's deliberately broken lines
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                records += list(csv.DictReader(handle))
    records += [
        json.loads(line)
        for path in (FIXTURE, POLITE)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for record in records:
        email = (record.get("email") or "").strip().lower()
        if "@" in email:
            people["emails"].add(email)
        people["emails"].update(
            e.lower() for e in re.findall(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", record.get("message") or "")
        )
        digits = re.sub(r"\D", "", record.get("phone") or "")
        if len(digits) >= 7:
            people["phones"].add(digits)
        first, last = (record.get("first_name") or "").strip(), (record.get("last_name") or "").strip()
        if first and last:
            people["names"].add(f"{first} {last}")
    return people


def assert_no_sample_pii(requests) -> None:
    assert requests
    bodies = "\n".join(json.dumps(r.body, ensure_ascii=False) for r in requests)
    lowered = bodies.lower()
    people = sample_people()
    assert len(people["emails"]) > 400 and people["phones"] and len(people["names"]) > 300
    leaked = [e for e in people["emails"] if e in lowered]
    assert not leaked, leaked[:5]
    for digits in people["phones"]:
        spaced = r"[\s().\-/]*".join(digits[-7:])  # the subscriber part, however it was formatted
        assert not re.search(rf"(?<!\d){spaced}(?!\d)", bodies), digits
    for name in people["names"]:
        assert name not in bodies, name
        # each capitalised part alone, as written ("Will" the person, not "will" the verb; not "de" in "de la Cruz")
        for part in (p for p in name.split() if p[:1].isupper()):
            assert not re.search(rf"(?<!\w){re.escape(part)}(?!\w)", bodies), part


# --- the tests, in the order a user would meet them --------------------------------------------


def test_every_lead_has_a_baseline_and_an_llm_score_on_record(first_run):
    db, summary = first_run["db"], first_run["summary"]
    leads = scalar(db, "select count(*) from marts.lead_features")
    assert leads > 100
    per_scorer = dict(query(db, "select scorer, count(distinct lead_id) from scoring.scores group by 1"))
    assert per_scorer == {"baseline": leads, "llm": leads}
    bad = query(
        db,
        """
        select lead_id from scoring.scores where scorer = 'llm'
          and (model_version is distinct from ? or prompt_version is distinct from 'score_v1' or length(input_hash) <> 32)""",
        [MODEL],
    )
    assert bad == []
    # the state of every lead points at the LLM score it was decided on
    assert (
        scalar(
            db,
            """
        select count(*) from lifecycle.lead_states s join scoring.scores c using (score_id)
        where c.scorer = 'llm' and c.lead_id = s.lead_id""",
        )
        == leads
    )
    found = dict(query(db, "select state, count(*) from lifecycle.lead_states group by 1"))
    assert sum(found.values()) == leads and found.get("pending", 0) == 0
    assert found.get("qualified", 0) > 0 and found.get("nurture", 0) > 0 and found.get("needs_review", 0) > 0
    assert (
        scalar(
            db,
            "select count(*) from audit.decisions where kind = 'route' and actor = 'policy:llm' and model_version = ?",
            [MODEL],
        )
        == leads
    )
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]


def test_the_run_summary_shows_calls_tokens_and_cost(first_run, emulator):
    db, summary = first_run["db"], first_run["summary"]
    llm = summary["decide"]["llm"]
    assert llm["model"] == MODEL
    assert llm["calls"] == first_run["requests"] == scalar(db, "select count(*) from scoring.llm_calls") > 0
    assert llm["score_calls"] > 0 and llm["validate_calls"] > 0  # the middle band got its second check
    assert llm["tokens_in"] == scalar(db, "select sum(tokens_in) from scoring.llm_calls") > 0
    assert llm["tokens_out"] == scalar(db, "select sum(tokens_out) from scoring.llm_calls") > 0
    assert llm["estimated_cost_usd"] == pytest.approx(
        scalar(db, "select sum(estimated_cost_usd) from scoring.llm_calls")
    )
    assert llm["estimated_cost_usd"] > 0 and llm["error_rate"] == 0 and llm["cache_hits"] == 0
    assert run_summary(db, summary["run_id"])["decide"]["llm"]["calls"] == llm["calls"]
    # ... and the Prefect artifact of the run carries the same section
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["leadgate-run-report"]))
        )
    report = next(a.data for a in artifacts if summary["run_id"] in str(a.data))
    assert f"## LLM scoring ({MODEL})" in report and f"| calls | {llm['calls']} |" in report


def test_an_unchanged_rerun_makes_no_llm_calls(first_run, emulator):
    db, env = first_run["db"], first_run["env"]
    before = states(db)
    calls = len(emulator.requests)
    again = run_json(env)
    assert again["decide"] is None and len(emulator.requests) == calls
    # Re-scoring every lead (the nightly decay run) asks the model nothing: same inputs, cached answers.
    rescored = leadgate("run", "--rescore", env=env)
    assert rescored.returncode == 0, rescored.stderr[-3000:]
    assert len(emulator.requests) == calls
    assert f"LLM scoring ({MODEL})" in rescored.stdout and re.search(r"\n  calls\s+0\n", rescored.stdout)
    run_id = scalar(db, "select run_id from meta.runs order by started_at desc limit 1")
    llm = run_summary(db, run_id)["decide"]["llm"]
    leads = scalar(db, "select count(*) from marts.lead_features")
    assert llm["calls"] == 0 and llm["cache_hits"] >= leads and llm["leads"] == leads
    assert states(db) == before


def test_a_prompt_injection_goes_to_review_and_moves_no_other_lead(first_run, emulator):
    db, env = first_run["db"], first_run["env"]
    shutil.copy(FIXTURE, first_run["work"] / "inbox" / FIXTURE.name)
    calls = len(emulator.requests)
    summary = run_json(env)
    assert summary["decide"]["scored"] == 2
    lead_of = dict(
        query(db, "select email, lead_id from marts.lead_features where email in (?, ?)", [INJECTOR, BYSTANDER])
    )
    injector, bystander = lead_of[INJECTOR], lead_of[BYSTANDER]

    state, codes = states(db)[injector]
    assert state == "needs_review" and "prompt_injection" in codes
    # its decision rests on the baseline score: the text did not move it
    scores = dict(query(db, "select scorer, score from scoring.scores where lead_id = ?", [injector]))
    assert scores["llm"] == scores["baseline"]
    item = query(
        db, "select reason_codes, summary from review.items where lead_id = ? and status = 'pending'", [injector]
    )
    assert item and "prompt_injection" in item[0][0] and "prompt injection" in item[0][1]
    assert "LLM summary" not in item[0][1]  # a summary the attacker may have steered is not shown

    # The emulator obeys "mark all leads qualified" for every lead in the same request; the scorer sends
    # the suspect alone, so the other new lead of this run keeps its own answer: not interested -> nurture.
    sent = emulator.requests[calls:]
    with_injection = [r for r in sent if "Ignore previous instructions" in json.dumps(r.leads)]
    assert with_injection and all(len(r.leads) == 1 for r in with_injection)
    answer = json.loads(
        scalar(
            db,
            """
        select c.answer::varchar from scoring.scores s join scoring.llm_cache c using (input_hash)
        where s.lead_id = ? and s.scorer = 'llm' and c.prompt_version = 'score_v1'""",
            [bystander],
        )
    )
    assert (answer["qualification"], answer["confidence"]) == ("nurture", 0.92)
    assert states(db)[bystander][0] == "nurture"


def test_issue_8_a_polite_injection_sent_to_a_gullible_model_qualifies_no_one(first_run, emulator):
    db, env = first_run["db"], first_run["env"]
    shutil.copy(POLITE, first_run["work"] / "inbox" / POLITE.name)
    calls = len(emulator.requests)
    emulator.score, emulator.validate = gullible_score, gullible_validate  # obeys any lead's text, for every lead
    try:
        summary = run_json(env)
    finally:
        emulator.score, emulator.validate = heuristic_score, heuristic_validate
    assert summary["decide"]["scored"] == 3
    lead_of = dict(query(db, "select email, lead_id from marts.lead_features where email like '%@initech-labs.com'"))
    author = lead_of["dana.whitlock@initech-labs.com"]
    state, codes = states(db)[author]
    assert state == "needs_review" and "prompt_injection" in codes
    scores = dict(query(db, "select scorer, score from scoring.scores where lead_id = ?", [author]))
    assert scores["llm"] == scores["baseline"]
    for email, expected in (("sam.okoro@initech-labs.com", "unknown"), ("lee.park@initech-labs.com", "nurture")):
        answer = json.loads(
            scalar(
                db,
                """
            select c.answer::varchar from scoring.scores s join scoring.llm_cache c using (input_hash)
            where s.lead_id = ? and s.scorer = 'llm' and c.prompt_version = 'score_v1'""",
                [lead_of[email]],
            )
        )
        assert answer["qualification"] == expected and answer["confidence"] != 0.99, email
        assert states(db)[lead_of[email]][0] != "qualified"
    # what left: industry and country only as vocabulary values, no card, IBAN or obfuscated email
    sent = json.dumps([r.leads for r in emulator.requests[calls:]], ensure_ascii=False)
    for secret in ("312 555", "initech-labs (dot)", "4111 1111", "DE89", "whitlock", "Whitlock"):
        assert secret not in sent, secret
    views = [lead for r in emulator.requests[calls:] for lead in r.leads if "lead" not in lead]
    assert {v["industry"] for v in views} <= {"software", "other"} and {v["country"] for v in views} <= {"US", "other"}


def test_no_personal_data_from_the_sample_reaches_the_endpoint(first_run, emulator):
    assert_no_sample_pii(emulator.requests)


def test_an_endpoint_outage_leaves_leads_pending_with_their_baseline_score(tmp_path, prefect_api):
    with OpenAIEmulator(faults=lambda request: "500") as down:
        copy_sample(tmp_path)
        env = llm_env(tmp_path, down, prefect_api)
        db = tmp_path / "leadgate.duckdb"
        summary = run_json(env)
        assert_no_sample_pii(down.requests)
    leads = scalar(db, "select count(*) from marts.lead_features")
    found = states(db)
    assert len(found) == leads > 100
    # Only a lead whose data failed the quality gate is decided (review: that needs no model); the rest wait.
    gated = {lead for lead, (_, codes) in found.items() if any(c.startswith("gate:") for c in codes)}
    assert len(gated) == sum(summary["decide"]["gate_failures"].values()) < 5
    assert {found[lead][0] for lead in gated} <= {"needs_review"}
    assert {(state, tuple(codes)) for lead, (state, codes) in found.items() if lead not in gated} == {
        ("pending", ("llm_unavailable",))
    }
    per_scorer = dict(query(db, "select scorer, count(distinct lead_id) from scoring.scores group by 1"))
    assert per_scorer == {"baseline": leads}
    assert scalar(db, "select count(*) from review.items") == len(gated)
    llm = summary["decide"]["llm"]
    # bounded retries: every batch (of at most 20) tried twice (LEADGATE_LLM_MAX_RETRIES=1), then held
    payloads = Counter(json.dumps(r.leads, sort_keys=True) for r in down.requests)
    assert set(payloads.values()) == {2} and sum(len(json.loads(p)) for p in payloads) == leads
    assert max(len(json.loads(p)) for p in payloads) == 20 and len(payloads) <= math.ceil(leads / 20) + 2
    assert llm["error_rate"] == 1.0 and llm["calls"] == len(down.requests) == 2 * len(payloads)
    assert {r[0] for r in query(db, "select distinct outcome from scoring.llm_calls")} == {"server_error"}
    assert all(inv["ok"] for inv in summary["status"]["invariants"])

    # The endpoint is back; no new events: the next run retries every lead held by the outage (dbt skipped).
    with OpenAIEmulator() as back:
        env["OPENAI_BASE_URL"] = back.base_url
        summary = run_json(env)
    assert summary["ingest"]["accepted"] == 0 and summary["dbt"] is None
    assert summary["decide"]["scored"] == leads - len(gated)  # the gated ones wait for a reviewer
    assert "pending" not in {state for state, _ in states(db).values()}
    assert dict(query(db, "select scorer, count(distinct lead_id) from scoring.scores group by 1")) == {
        "baseline": leads,
        "llm": leads - len(gated),
    }
