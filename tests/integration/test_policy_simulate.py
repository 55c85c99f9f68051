"""`leadgate policy simulate` on a real DuckDB file: it predicts what a run with the candidate would do, writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.config import LeadgateSettings
from leadgate.policy import load_policy
from leadgate.routing.gate import GateResult
from leadgate.routing.rules import apply_routes, route_leads
from leadgate.scoring.baseline import BaselineScorer, leads_to_score, record_scores, sync_pending_leads
from leadgate.store import db
from leadgate.store.trigger_counts import with_trigger_counts
from tests.fixtures.scoring.frames import HERE as SCORING_FIXTURES
from tests.fixtures.scoring.frames import NOW, create_marts, test_policy
from tests.integration.test_routing_db import decide, human

POLICY = SCORING_FIXTURES / "policy.yaml"
# the data check failed one lead; a run on the same features fails it again, whatever the policy
GATE_FAILED = {"ld_check_n": ["expect_column_values_to_not_be_null(company)"]}


def gate(batch: str) -> GateResult:
    return GateResult(batch, "scored_leads", 13, (), GATE_FAILED, 1 / 13, False)


def settings_for(path: Path) -> LeadgateSettings:
    inbox = path.parent / "inbox"
    inbox.mkdir(exist_ok=True)
    return LeadgateSettings(db=path, inbox=inbox, policy=POLICY, as_of=NOW, lock_timeout=2.0, _env_file=None)


@pytest.fixture
def decided(tmp_path) -> Path:
    """The fixture leads scored and routed with the fixture policy; a reviewer rejected one and approved another."""
    path = tmp_path / "live" / "leadgate.duckdb"
    path.parent.mkdir()
    with db.connect(settings_for(path)) as con:
        create_marts(con)
        decide(con, test_policy(), run_id="r1", gate=gate("r1-b1"))
        human(con, "ld_near", "rejected", "rejected")  # the lower threshold would qualify it: it stays rejected
        human(con, "ld_globex", "qualified", "approved")  # an approval stands while the lead is unchanged
    return path


def candidate(tmp_path: Path, old: str, new: str, version: str) -> Path:
    text = POLICY.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / f"{version}.yaml"
    path.write_text(
        text.replace(old, new).replace('version: "test-scoring-1"', f'version: "{version}"'), encoding="utf-8"
    )
    return path


def checksums(path: Path) -> dict[str, tuple]:
    """Rows and an md5 of every table's rows (ordered), and of the file itself."""
    out: dict[str, tuple] = {"<file>": (hashlib.sha256(path.read_bytes()).hexdigest(),)}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        for schema, table in tables:
            out[f"{schema}.{table}"] = con.execute(  # names from the catalogue, quoted
                f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), ''))"
                f' from (select cast(t as varchar) as r from "{schema}"."{table}" t)'
            ).fetchone()
    return out


def state_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("select state, count(*) from lifecycle.lead_states group by all").fetchall())


def run_cli(path: Path, *args: str):
    env = {"LEADGATE_DB": str(path), "LEADGATE_POLICY": str(POLICY), "LEADGATE_AS_OF": NOW.isoformat()}
    result = CliRunner().invoke(app, ["policy", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def printed_table(text: str, title: str) -> dict[str, tuple[int, int]]:
    lines = text.split(f"\n{title}")[1].split("\n\n")[0].splitlines()[1:]
    return {line.split()[0]: (int(line.split()[1]), int(line.split()[2])) for line in lines}


def real_run_with(path: Path, policy_path: Path, tmp_path: Path) -> Path:
    """A copy of the database decided again with the candidate, as the next run would (all leads re-scored)."""
    copy = tmp_path / "copy" / "leadgate.duckdb"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    policy = load_policy(policy_path)
    with db.connect(settings_for(copy)) as con:  # what decide_step does with a batch, the gate's verdict given
        sync_pending_leads(con)
        features = leads_to_score(con, rescore_all=True)
        recorded = record_scores(con, BaselineScorer(policy).score(features, NOW), "r2", policy)
        frame = with_trigger_counts(
            con, features.drop(columns=["feature_hash"]).merge(recorded, on="lead_id"), policy, NOW
        )
        apply_routes(
            con, route_leads(frame, gate("r2-b1"), policy), frame, run_id="r2", policy=policy, scorer_version="1.0.0"
        )
    return copy


def test_a_moved_threshold_is_predicted_exactly_and_nothing_is_written(decided, tmp_path):
    cand = candidate(tmp_path, "qualify_threshold: 0.55", "qualify_threshold: 0.35", "cand-threshold")
    # and a behaviour trigger: three page views in a week (ld_low_conf had them)
    cand.write_text(
        cand.read_text(encoding="utf-8").replace(
            "routing:\n",
            "routing:\n  triggers:\n    - {name: page_burst,"
            " event_types: [page_view], min_count: 3, window_days: 14}\n",
        ),
        encoding="utf-8",
    )
    before = checksums(decided)
    recorded = state_counts(decided)
    text = run_cli(decided, "simulate", "--policy", str(cand))
    document = json.loads(run_cli(decided, "simulate", "--policy", str(cand), "--json"))
    assert checksums(decided) == before  # every table, and the file, unchanged
    assert not decided.with_name(decided.name + ".wal").exists()

    states = printed_table(text, "leads per state")
    assert {s: b for s, (b, _) in states.items() if b} == recorded  # "before" is the database
    copy = real_run_with(decided, cand, tmp_path)
    expected = state_counts(copy)
    assert {s: a for s, (_, a) in states.items() if a} == expected  # "after" is what a run would do
    assert states["rejected"] == (1, 1) and states["qualified"][1] > states["qualified"][0]
    assert "the current policy reproduces 13 of 13 recorded state(s)" in text

    assert {s: n for s, n in document["states"]["before"].items() if n} == recorded
    assert {s: n for s, n in document["states"]["after"].items() if n} == expected
    after = document["exception_rate"]["after"]
    assert after["review"] == expected.get("needs_review", 0) and after["decided"] == 13
    assert (
        f"exception rate   {recorded['needs_review'] / 13:.1%} ({recorded['needs_review']} of 13 decided) -> "
        f"{after['rate']:.1%} ({after['review']} of 13 decided)" in text
    )
    changed = document["changed"]
    assert changed == sum(t["leads"] for t in document["transitions"]) > 0
    assert f"change state     {changed} lead(s)" in text
    sample = {s["lead_id"]: s for s in document["sample"]}
    assert "ld_near" not in sample and "ld_globex" not in sample  # people's decisions stand in both columns
    assert "ld_check_n" not in sample  # so does the gate's verdict
    low = sample["ld_low_conf"]
    assert (low["before"], low["after"], low["before_reasons"]) == ("needs_review", "qualified", ["low_confidence"])
    assert "hot:page_burst" in low["after_reasons"]  # qualified and hot: the trigger was counted
    assert "  ld_low_conf  needs_review -> qualified\n      before: low_confidence\n      after:  " in text
    newly = syncable(copy) - syncable(decided)
    assert newly and document["newly_synced"] == len(newly) and f"newly synced     {len(newly)} lead(s)" in text
    assert document["no_longer_synced"] == len(syncable(decided) - syncable(copy))


def syncable(path: Path) -> set[str]:
    """Leads the sync would send: qualified or synced, consenting, with the CRM's required fields."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            r[0]
            for r in con.execute(
                "select lead_id from lifecycle.lead_states join marts.lead_features using (lead_id)"
                " where state in ('qualified', 'synced') and has_consent"
                " and coalesce(trim(email), '') <> '' and coalesce(trim(last_name), '') <> '' and coalesce(trim(company), '') <> ''"
            ).fetchall()
        }


def test_the_same_policy_changes_nothing(decided):
    document = json.loads(run_cli(decided, "simulate", "--policy", str(POLICY), "--json"))
    assert document["states"]["before"] == document["states"]["after"]
    assert document["changed"] == 0 and document["sample"] == [] and document["newly_synced"] == 0
    assert document["scores_changed"] == 0 and document["replay_matches_recorded"] == 13


def test_policy_check_and_simulate_errors_on_the_command_line(tmp_path):
    """One line on stderr, exit 1: a bad candidate is refused before the database is opened (there is none here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")} | {
        "LEADGATE_DB": str(tmp_path / "none" / "leadgate.duckdb"),
        "LEADGATE_POLICY": str(POLICY),
    }
    bad = candidate(tmp_path, "  min_margin: 0.10", "  min_margin: 1.10", "cand-bad")
    line = next(i for i, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "min_margin" in text)
    message = f"policy file {bad}: routing.second_check.min_margin: must be between 0 and 1 (got 1.1) (line {line})"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("leadgate")), "policy", "check", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"leadgate: error: {message}\n")
    result = CliRunner().invoke(app, ["policy", "simulate", "--policy", str(bad)], env=env)
    assert result.exit_code == 1 and str(result.exception) == message
    result = CliRunner().invoke(app, ["policy", "check", str(POLICY)], env=env)
    assert (result.exit_code, result.output) == (0, f"{POLICY}: ok, policy version test-scoring-1\n")


def test_an_added_tier_is_counted_per_tier_and_predicted_exactly(decided, tmp_path):
    tier = (
        "routing:\n  tiers:\n    - {name: enterprise, min_employees: 200, qualify_threshold: 0.40, weight: 2}\n"
        "    - {name: everyone_else}\n"
    )
    cand = candidate(tmp_path, "routing:\n", tier, "cand-tier")
    before = checksums(decided)
    text = run_cli(decided, "simulate", "--policy", str(cand))
    document = json.loads(run_cli(decided, "simulate", "--policy", str(cand), "--json"))
    assert checksums(decided) == before

    with duckdb.connect(str(decided), read_only=True) as con:
        large = con.execute("select count(*) from marts.lead_features where company_size_min >= 200").fetchone()[0]
    assert 0 < large < 13
    assert document["tiers"]["before"] == {"all": 13, "enterprise": 0, "everyone_else": 0}
    assert document["tiers"]["after"] == {"all": 0, "enterprise": large, "everyone_else": 13 - large}
    tiers = printed_table(text, "leads per tier")
    assert tiers["enterprise"] == (0, large) and tiers["everyone_else"] == (0, 13 - large) and tiers["all"] == (13, 0)

    copy = real_run_with(decided, cand, tmp_path)
    expected = state_counts(copy)
    assert {s: n for s, n in document["states"]["after"].items() if n} == expected
    assert {s: a for s, (_, a) in printed_table(text, "leads per state").items() if a} == expected
    with duckdb.connect(str(copy), read_only=True) as con:  # the tier a real run records, where the policy decided
        recorded = dict(
            con.execute(
                "select tier, count(*) from lifecycle.lead_states where decided_by like 'policy:%' group by all"
            ).fetchall()
        )
    assert all(recorded[t] <= document["tiers"]["after"][t] for t in recorded) and set(recorded) <= {
        "enterprise",
        "everyone_else",
    }
    moved = [s for s in document["sample"] if s["after_tier"] == "enterprise" and s["before"] != s["after"]]
    assert moved and all(s["lead_id"] != "ld_near" for s in document["sample"])
