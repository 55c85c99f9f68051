"""The whole pipeline on the bundled sample, through the real `leadgate` command and Prefect engine."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from leadgate.lifecycle import ALL_STATES
from leadgate.sample.generator import SAMPLE_LEADS, SAMPLE_SEED, write_sample
from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import cli_env, leadgate, query, records_in_files, run_json, scalar
from tests.e2e.readme_commands import shell_commands, sql_statements
from tests.writer_holder import another_writer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, prefect_api):
    """A database after one run of the pipeline on a copy of data/sample."""
    work = tmp_path_factory.mktemp("e2e")
    inbox = work / "inbox"
    shutil.copytree(SAMPLE_DIR, inbox, ignore=shutil.ignore_patterns("*.md"))
    db = work / "leadgate.duckdb"
    env = cli_env(db, inbox, prefect_api)
    summary = run_json(env)
    return {"work": work, "inbox": inbox, "db": db, "env": env, "summary": summary}


@pytest.fixture
def own_run(first_run, tmp_path):
    """The first run's database (and its read copy) in this test's own folder, for a test that changes it.

    The workers may run this module's tests in any order (work stealing): the tests that only read must
    see the first run, whatever ran before them. The inbox is shared; a test that adds files copies it.
    """
    for name in ("leadgate.duckdb", "leadgate.duckdb.wal", "leadgate.read.duckdb"):
        if (first_run["work"] / name).exists():
            shutil.copy2(first_run["work"] / name, tmp_path / name)
    db = tmp_path / "leadgate.duckdb"
    env = dict(first_run["env"], LEADGATE_DB=str(db))
    return dict(first_run, work=tmp_path, db=db, env=env)


def own_inbox(run: dict) -> dict:
    """`run` with an inbox of its own: a copy of the first run's files (same contents, so none is loaded again)."""
    inbox = run["work"] / "inbox"
    shutil.copytree(run["inbox"], inbox)
    return dict(run, inbox=inbox, env=dict(run["env"], LEADGATE_INBOX=str(inbox)))


def test_first_run_accounts_for_every_record_and_every_lead(first_run):
    db, summary = first_run["db"], first_run["summary"]
    records = records_in_files(first_run["inbox"])
    ingest = summary["ingest"]
    assert ingest["records"] == records
    assert ingest["accepted"] + ingest["rejected"] + ingest["duplicates"] == records
    # the generator knows exactly which records it spoiled (data/sample is its output; test_sample checks that)
    expected = write_sample(first_run["work"] / "regenerated", leads=SAMPLE_LEADS, seed=SAMPLE_SEED)
    assert (ingest["rejected"], ingest["duplicates"], ingest["conflicts"], ingest["field_issues"]) == (
        expected.expected_rejects,
        expected.expected_duplicates,
        expected.expected_conflicts,
        expected.expected_field_issues,
    )
    assert scalar(db, "select count(*) from raw.engagement_events") == ingest["accepted"]
    assert scalar(db, "select count(*) from raw.rejected_events") == ingest["rejected"]

    leads = scalar(db, "select count(*) from marts.lead_features")
    states = dict(query(db, "select state, count(*) from lifecycle.lead_states group by 1"))
    assert sum(states.values()) == leads > 100
    assert set(states) <= set(ALL_STATES)
    # The sample is built to show every machine route; nothing is left waiting.
    for state in ("qualified", "nurture", "needs_review"):
        assert states.get(state, 0) > 0, states
    assert states.get("pending", 0) == 0
    assert states.get("synced", 0) == 0, "shadow mode never acknowledges a sync"
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]


def test_the_run_set_up_the_one_slot_limit_that_keeps_runs_apart(first_run):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # the session's Prefect API, the one the run used
        limit = client.read_global_concurrency_limit_by_name("leadgate-pipeline")
    assert (limit.limit, limit.active) == (1, True)


def test_first_run_records_scores_decisions_review_and_outbox(first_run):
    db, summary = first_run["db"], first_run["summary"]
    leads = scalar(db, "select count(*) from marts.lead_features")
    assert scalar(db, "select count(distinct lead_id) from scoring.scores") == leads
    assert (
        scalar(db, "select count(*) from scoring.scores where policy_version = ?", [summary["policy_version"]]) == leads
    )
    needs_review = scalar(db, "select count(*) from lifecycle.lead_states where state = 'needs_review'")
    assert scalar(db, "select count(*) from review.items where status = 'pending'") == needs_review
    assert scalar(db, "select count(*) from review.items where summary is null or summary = ''") == 0
    qualified = scalar(db, "select count(*) from lifecycle.lead_states where state = 'qualified'")
    assert scalar(db, "select count(*) from sync.outbox") == qualified
    assert scalar(db, "select count(*) from sync.state where acked_payload_hash is not null") == 0
    # every routing decision is audited with its policy version and without personal data
    assert scalar(db, "select count(distinct lead_id) from audit.decisions where kind = 'route'") == leads
    assert scalar(db, "select count(*) from audit.decisions where policy_version is null and kind = 'route'") == 0
    emails = [r[0] for r in query(db, "select email from marts.lead_features limit 50")]
    audit_text = " ".join(str(r) for r in query(db, "select * from audit.decisions"))
    assert not any(e in audit_text for e in emails)
    # the quality gate ran on the scored batch and its results are stored
    assert scalar(db, "select count(*) from quality.validations") > 0
    # analysts get a read-only copy
    assert Path(summary["read_copy"]).exists()


def test_people_see_every_always_review_lead_and_the_queue_stays_within_budget(first_run):
    """Issue 11 on the sample: named accounts, reactivated and high-fit-low-engagement leads are all in
    review, no lead whose unknown field straddles the threshold is decided by the machine, and the
    exception rate is at most the 15% review budget."""
    from leadgate.config import DEFAULT_POLICY
    from leadgate.policy import load_policy

    db, rules = first_run["db"], load_policy(DEFAULT_POLICY).routing.rules
    rows = query(
        db,
        """
        with latest as (select lead_id, arg_max(details, score_id) as details from scoring.scores group by lead_id)
        select s.lead_id, s.state, s.reason_codes, f.has_consent, f.is_target_account, f.was_dormant_reactivated,
               (l.details->>'fit')::double, (l.details->>'engagement')::double
        from lifecycle.lead_states s join marts.lead_features f using (lead_id) join latest l using (lead_id)""",
    )
    by_rule = {"target_account": set(), "reactivated_after_dormancy": set(), "high_fit_low_engagement": set()}
    for lead_id, state, codes, consent, target, reactivated, fit, engagement in rows:
        if not consent:
            continue  # without consent nobody is contacted: nurtured whatever else holds
        for rule, hit in (
            ("target_account", target),
            ("reactivated_after_dormancy", reactivated),
            ("high_fit_low_engagement", fit >= rules.high_fit_min and engagement <= rules.low_engagement_max),
        ):
            if hit:
                by_rule[rule].add(lead_id)
                assert state == "needs_review" and rule in codes, (lead_id, state, codes)
    assert all(by_rule.values()), {rule: len(leads) for rule, leads in by_rule.items()}  # the sample has each kind
    straddling = [
        (lead_id, state, codes)
        for lead_id, state, codes, consent, *_ in rows
        if consent and any(c.startswith("missing_") and not c.endswith("_immaterial") for c in codes)
    ]
    assert straddling and all(state == "needs_review" for _, state, _ in straddling), straddling
    decided = [state for _, state, *_ in rows if state != "pending"]
    assert decided.count("needs_review") / len(decided) <= 0.15


def test_rerun_on_unchanged_inbox_loads_scores_and_sends_nothing(own_run):
    db = own_run["db"]
    scores_before = scalar(db, "select count(*) from scoring.scores")
    outbox_before = query(db, "select lead_id, payload_hash from sync.outbox order by 1")
    audit_before = scalar(db, "select count(*) from audit.decisions")
    again = run_json(own_run["env"])
    assert again["ingest"]["accepted"] == 0 and again["ingest"]["records"] == 0
    assert again["ingest"]["files_skipped"] == len([p for p in own_run["inbox"].iterdir() if p.is_file()])
    assert again["dbt"] is None and again["decide"] is None
    assert scalar(db, "select count(*) from scoring.scores") == scores_before
    assert query(db, "select lead_id, payload_hash from sync.outbox order by 1") == outbox_before
    assert scalar(db, "select count(*) from audit.decisions") == audit_before


def test_new_event_rescores_only_that_lead(own_run):
    own_run = own_inbox(own_run)
    db, inbox = own_run["db"], own_run["inbox"]
    email, lead_id = query(
        db, "select email, lead_id from marts.lead_features where has_consent order by lead_id limit 1"
    )[0]
    scores_before = scalar(db, "select count(*) from scoring.scores")
    (inbox / "late_arrivals.jsonl").write_text(
        '{"event_id":"late-1","source":"web","event_type":"pricing_view","occurred_at":"2026-11-16T09:00:00Z",'
        f'"email":"{email}","page_url":"https://leadgate.example/pricing"}}\n',
        encoding="utf-8",
    )
    summary = run_json(own_run["env"])
    assert summary["ingest"]["accepted"] == 1
    assert summary["decide"]["scored"] == 1
    assert scalar(db, "select count(*) from scoring.scores") == scores_before + 1
    assert scalar(db, "select lead_id from scoring.scores order by score_id desc limit 1") == lead_id


def test_bad_records_are_rejected_one_by_one_with_reasons(first_run):
    rows = query(
        first_run["db"], "select source_file, line_no, reason, raw_text from raw.rejected_events order by 1, 2"
    )
    assert rows
    expected = write_sample(first_run["work"] / "regenerated", leads=SAMPLE_LEADS, seed=SAMPLE_SEED)
    spoiled = {(b.file, b.line) for b in expected.bad if b.outcome == "reject"}
    assert {(Path(f).name, line) for f, line, _, _ in rows} == spoiled
    for _source_file, _line_no, reason, raw_text in rows:
        assert reason and len(reason) > 10 and raw_text
    issues = query(first_run["db"], "select field, raw_value, problem from raw.field_issues")
    assert any(field == "company_size" for field, _, _ in issues)


def test_review_approval_flows_to_the_outbox(own_run):
    db, env = own_run["db"], own_run["env"]
    listing = leadgate("review", "list", env=env)
    assert listing.returncode == 0 and listing.stdout.strip()
    candidates = query(
        db,
        """
        select r.item_id, r.lead_id from review.items r join marts.lead_features f using (lead_id)
        where r.status = 'pending' and f.has_consent and f.last_name is not null and f.company is not null
        order by r.item_id limit 1""",
    )
    item_id, lead_id = candidates[0]
    shown = leadgate("review", "show", str(item_id), env=env)
    assert shown.returncode == 0 and lead_id in shown.stdout
    approved = leadgate("review", "approve", str(item_id), "--reviewer", "dana", "--note", "met at the booth", env=env)
    assert approved.returncode == 0, approved.stderr
    assert scalar(db, "select state from lifecycle.lead_states where lead_id = ?", [lead_id]) == "qualified"
    assert scalar(db, "select reviewer from review.items where item_id = ?", [item_id]) == "dana"
    leadgate("sync", env=env)
    assert scalar(db, "select count(*) from sync.outbox where lead_id = ?", [lead_id]) == 1
    again = leadgate("review", "approve", str(item_id), env=env)
    assert again.returncode == 1 and "Traceback" not in again.stderr


def test_approval_refuses_a_lead_missing_crm_fields(own_run):
    db, env = own_run["db"], own_run["env"]
    rows = query(
        db,
        """
        select r.item_id from review.items r join marts.lead_features f using (lead_id)
        where r.status = 'pending' and f.company is null order by r.item_id limit 1""",
    )
    assert rows, "the sample must contain a lead without a company"
    proc = leadgate("review", "approve", str(rows[0][0]), "--reviewer", "dana", env=env)
    assert proc.returncode == 1
    assert "company" in proc.stderr and "Traceback" not in proc.stderr
    assert scalar(db, "select status from review.items where item_id = ?", [rows[0][0]]) == "pending"


def test_status_reports_counts_and_invariants(first_run):
    proc = leadgate("status", env=first_run["env"])
    assert proc.returncode == 0, proc.stderr
    for state in ALL_STATES:
        assert state in proc.stdout
    status_json = leadgate("status", "--json", env=first_run["env"])
    assert '"invariants"' in status_json.stdout


def test_forget_erases_a_person_everywhere(own_run):
    db, env = own_run["db"], own_run["env"]
    email, lead_id = query(
        db, "select email, lead_id from marts.lead_features where event_count > 2 order by lead_id desc limit 1"
    )[0]
    proc = leadgate("forget", email, "--yes", env=env)
    assert proc.returncode == 0, proc.stderr
    tables = query(db, "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'")
    for schema, table in tables:
        rows = query(db, f'select * from "{schema}"."{table}"')
        assert not any(email in str(row).lower() for row in rows), f"{email} still in {schema}.{table}"
    assert scalar(db, "select count(*) from audit.decisions where lead_id = ? and kind = 'forget'", [lead_id]) == 1
    assert leadgate("status", env=env).returncode == 0


def test_a_second_writer_waits_then_gets_a_clear_message(first_run):
    env = dict(first_run["env"], LEADGATE_LOCK_TIMEOUT="1")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from leadgate.config import LeadgateSettings
            from leadgate.store import db
            with db.connect(LeadgateSettings(db={str(first_run["db"])!r})):
                print('holding', flush=True)
                time.sleep(20)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        read_copy = first_run["db"].with_name("leadgate.read.duckdb")
        item = scalar(read_copy, "select min(item_id) from review.items where status = 'pending'")
        started = time.monotonic()
        proc = leadgate("review", "reject", str(item), "--reason", "test", env=env)
        waited = time.monotonic() - started
        assert proc.returncode == 1
        assert "pipeline is running" in proc.stderr and "try again" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert waited >= 1.0
        # readers are not locked out: status falls back to the published read-only copy
        status = leadgate("status", env=env)
        assert status.returncode == 0, status.stderr
    finally:
        holder.kill()
        holder.wait()


# --- the analysts' read copy, leadgate sql / docs, and what the run reports (issue 9, items 7 and 8) ---


def test_the_read_copy_shows_each_run_finished_with_its_counts(first_run):
    read_copy = Path(first_run["summary"]["read_copy"])
    runs = query(
        read_copy,
        "select run_id, status, finished_at, summary ->> '$.ingest.records' from meta.runs"
        " where kind = 'pipeline' order by started_at",
    )
    assert runs and runs[0][0] == first_run["summary"]["run_id"]
    for run_id, status, finished_at, records in runs:
        assert (status, finished_at is not None, records is not None) == ("completed", True, True), run_id
    assert int(runs[0][3]) == first_run["summary"]["ingest"]["records"]


def test_the_run_report_leads_with_what_needs_attention_and_progress_reached_100(first_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flow_run_id = scalar(
        first_run["db"], "select prefect_flow_run_id from meta.runs where run_id = ?", [first_run["summary"]["run_id"]]
    )
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    progress = by_key["leadgate-run-progress"]
    assert (progress.type, float(progress.data)) == ("progress", 100.0)
    report = by_key["leadgate-run-report"].data
    ingest = first_run["summary"]["ingest"]
    assert (
        report.index("## Needs attention")
        < report.index(f"**{ingest['rejected']} record(s) rejected**")
        < report.index(f"**{ingest['conflicts']} conflicting duplicate(s)**")
        < report.index("## events (this run)")
    )
    table = by_key["leadgate-run-summary"].data
    table = json.loads(table) if isinstance(table, str) else table
    assert table[0]["section"] == "needs attention" and table[0]["item"] == f"{ingest['rejected']} record(s) rejected"
    assert not any(r["section"] == "invariants" for r in table)  # all ok: said in the headline, not as rows


def test_docs_are_built_from_the_read_copy_and_served_while_a_writer_holds_the_main_file(first_run):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with another_writer(first_run["db"], raw=True, seconds=600):
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("leadgate")), "docs", "--serve", "--port", str(port)],
            env=first_run["env"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = ""
            while "serving" not in line:
                line = server.stderr.readline()
                assert line or server.poll() is None, f"leadgate docs ended: {server.stdout.read()}"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=10) as answer:
                catalog = json.loads(answer.read())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
                assert answer.status == 200 and b"dbt" in answer.read()
        finally:
            server.terminate()
            server.wait(timeout=30)
    columns = catalog["nodes"]["model.leadgate.lead_features"]["columns"]
    assert {"lead_id", "feature_hash", "email"} <= {c.lower() for c in columns}
    assert server.stdout.read().strip().endswith("index.html")


def test_every_analyst_command_in_the_readme_runs_as_written(first_run):
    env = first_run["env"]
    commands = shell_commands()
    assert not [argv for argv in commands if argv[0] in ("duckdb", "dbt")], "the environment has no such command"
    sql_lines = [argv for argv in commands if argv[:2] == [".venv/bin/leadgate", "sql"]]
    assert len(sql_lines) >= 3
    for argv in sql_lines:
        proc = leadgate(*argv[1:], env=env)
        assert proc.returncode == 0 and proc.stdout.strip(), f"{argv}: {proc.stderr}"
    statements = sql_statements()
    assert len(statements) >= 10
    for statement in statements:
        proc = leadgate("sql", statement, "--format", "json", env=env)
        assert proc.returncode == 0, f"README query failed: {statement}\n{proc.stderr}"
        assert isinstance(json.loads(proc.stdout), list)
