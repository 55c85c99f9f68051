"""The dbt project on a real DuckDB file, built in-process by leadgate.transform.dbt.run_dbt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadgate.config import DBT_PROJECT_DIR, REFERENCE_DIR, LeadgateSettings
from leadgate.store import db
from leadgate.transform.dbt import DbtFailed, DbtReport, run_dbt

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dbt"

# Fixture files carry the input columns; the rest of raw.engagement_events is what ingest would add.
LOAD_EVENTS = """
insert into raw.engagement_events by name
select
    source, event_id, event_type, occurred_at::timestamptz as occurred_at, email, anonymous_id,
    first_name, last_name, job_title, phone, company, company_domain, industry, country,
    company_size, page_url, message, utm_source, utm_campaign, consent::boolean as consent,
    ? as load_id, ? as source_file, 1 + row_number() over () as line_no, now() as ingested_at
from read_csv(?, header = true, all_varchar = true)
"""


def make_settings(root: Path) -> LeadgateSettings:
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    return LeadgateSettings(db=root / "leadgate.duckdb", inbox=inbox, lock_timeout=2.0, _env_file=None)


def load_events(settings: LeadgateSettings, csv_name: str) -> None:
    path = FIXTURES / csv_name
    with db.connect(settings) as con:
        con.execute(LOAD_EVENTS, [f"load-{path.stem}", str(path), str(path)])


def query(settings: LeadgateSettings, sql: str, params: list | None = None) -> list[tuple]:
    with db.connect(settings) as con:
        return con.execute(sql, params or []).fetchall()


def lead(settings: LeadgateSettings, email: str) -> dict:
    with db.connect(settings) as con:
        cur = con.execute("select * from marts.lead_features where email = ?", [email])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1, f"expected one lead for {email}, got {len(rows)}"
    return dict(zip(names, rows[0]))


def hashes(settings: LeadgateSettings) -> dict[str, str]:
    return dict(query(settings, "select email, feature_hash from marts.lead_features"))


@dataclass
class Built:
    settings: LeadgateSettings
    report: DbtReport


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """The fixture events, built once for the module (a dbt build takes seconds)."""
    settings = make_settings(tmp_path_factory.mktemp("dbt-built"))
    load_events(settings, "events.csv")
    return Built(settings, run_dbt(settings, unit_tests=True))


@dataclass
class Changed:
    settings: LeadgateSettings
    before: dict[str, str]
    rerun: dict[str, str]
    after: dict[str, str]
    lead_events_incremental: list[tuple]
    rerun_report: DbtReport


@pytest.fixture(scope="module")
def changed(built: Built, tmp_path_factory) -> Changed:
    """A copy of the built database: re-run as is, then new events and an erasure, re-run again."""
    settings = make_settings(tmp_path_factory.mktemp("dbt-changed"))
    shutil.copyfile(built.settings.db_path, settings.db_path)
    before = hashes(settings)
    rerun_report = run_dbt(settings)  # as a run builds: without dbt's unit tests
    rerun = hashes(settings)
    # Dora comes back; the never-linked visitor v-ghost fills in a form as zoe@; Carl's raw events
    # are erased (as `leadgate forget` does) while his rows are still in the marts.
    load_events(settings, "later_events.csv")
    query(settings, "delete from raw.engagement_events where email = 'carl@acme-widgets.test'")
    run_dbt(settings)
    after = hashes(settings)
    events_sql = "select * from marts.lead_events order by source, event_id"
    incremental = query(settings, events_sql)
    return Changed(settings, before, rerun, after, incremental, rerun_report)


def test_build_reports_every_node_and_passes(built: Built) -> None:
    statuses = {status for _, status, _ in built.report.nodes}
    assert statuses <= {"success", "pass"}
    names = {name for name, _, _ in built.report.nodes}
    assert "model.leadgate.lead_features" in names
    assert any(name.startswith("unit_test.leadgate.int_leads_aggregated.") for name in names)
    tables = query(
        built.settings, "select table_schema from information_schema.tables where table_name = 'lead_features'"
    )
    assert tables == [("marts",)]


def test_a_runs_build_checks_the_data_but_leaves_dbts_unit_tests_out(built: Built, changed: Changed) -> None:
    kinds = {name.split(".")[0] for name, _, _ in changed.rerun_report.nodes}
    assert {"model", "test"} <= kinds and "unit_test" not in kinds
    # the same models and data tests as the build with unit tests, nothing else left out
    with_units = {name for name, _, _ in built.report.nodes if not name.startswith("unit_test.")}
    assert {name for name, _, _ in changed.rerun_report.nodes} == with_units


def test_database_is_released_when_the_build_ends(built: Built) -> None:
    # Another process (the next pipeline step, an analyst) can open the file read-write at once.
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
    done = subprocess.run([sys.executable, "-c", probe, str(built.settings.db_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_anonymous_events_are_counted_for_the_lead_they_were_stitched_to(built: Built) -> None:
    ann = lead(built.settings, "ann@initrode.com")
    assert (ann["event_count"], ann["anonymous_event_count"]) == (5, 3)
    assert (ann["pricing_views"], ann["demo_requests"]) == (1, 1)
    assert ann["first_utm_source"] == "google"
    stitched = query(
        built.settings,
        "select event_id from marts.lead_events where lead_id = ? and was_anonymous order by event_id",
        [ann["lead_id"]],
    )
    assert stitched == [("w-a1",), ("w-a2",), ("w-a4",)]
    visitors = query(built.settings, "select anonymous_id, event_count from marts.anonymous_visitors")
    assert visitors == [("v-ghost", 2)]


def test_subsidiary_two_levels_down_is_flagged_with_the_named_account(built: Built) -> None:
    lab = lead(built.settings, "lab@umbrella-pharma-labs.com")
    assert lab["account_id"] == "umbrella-pharma-labs.com"
    assert (lab["is_target_account"], lab["target_account_name"]) == (True, "Umbrella Corporation")
    ann = lead(built.settings, "ann@initrode.com")
    assert (ann["is_target_account"], ann["target_account_name"]) == (True, "Initech")
    freddie = lead(built.settings, "freddie@gmail.com")
    assert (freddie["account_id"], freddie["is_target_account"]) == (None, False)


def test_unsubscribe_withdraws_consent(built: Built) -> None:
    carl = lead(built.settings, "carl@acme-widgets.test")
    assert (carl["has_consent"], carl["consent_status"]) == (False, "withdrawn")
    ann = lead(built.settings, "ann@initrode.com")
    assert (ann["has_consent"], ann["consent_status"]) == (True, "granted")


def test_dormant_lead_that_came_back_is_flagged(built: Built) -> None:
    dora = lead(built.settings, "dora@globex.de")
    assert (dora["was_dormant_reactivated"], dora["longest_gap_days"]) == (True, 143)
    assert (dora["company_size"], dora["company_size_min"], dora["company_size_max"]) == ("1000+", 1000, None)
    eve = lead(built.settings, "eve@stark-energy.com")
    assert eve["was_dormant_reactivated"] is False


def test_buying_centre_counts_colleagues_active_in_the_30_days_before_last_touch(built: Built) -> None:
    sizes = dict(
        query(
            built.settings,
            "select email, buying_centre_size from marts.lead_features where account_id = 'stark-energy.com'",
        )
    )
    # hal@ was last active 80 days before eve@'s last touch: not part of her buying centre.
    assert sizes["eve@stark-energy.com"] == 3
    assert sizes["hal@stark-energy.com"] == 1
    account = query(
        built.settings,
        "select lead_count, engaged_leads_30d, target_account_name from marts.account_features"
        " where account_id = 'stark-energy.com'",
    )
    assert account == [(4, 3, "Stark Industries")]


def test_rerun_without_changes_keeps_every_feature_hash(changed: Changed) -> None:
    assert changed.rerun == changed.before


def test_new_event_changes_only_that_leads_hash(changed: Changed) -> None:
    assert changed.after["dora@globex.de"] != changed.before["dora@globex.de"]
    untouched = set(changed.before) - {"dora@globex.de", "carl@acme-widgets.test"}
    assert {email: changed.after[email] for email in untouched} == {email: changed.before[email] for email in untouched}


def test_incremental_run_restitches_old_events_and_drops_erased_ones(changed: Changed) -> None:
    zoe = lead(changed.settings, "zoe@hooli-xyz.com")
    assert (zoe["event_count"], zoe["anonymous_event_count"]) == (3, 2)
    assert zoe["target_account_name"] is None
    assert query(changed.settings, "select count(*) from marts.anonymous_visitors") == [(0,)]
    carl = query(changed.settings, "select count(*) from marts.lead_features where email = 'carl@acme-widgets.test'")
    assert carl == [(0,)]
    erased = query(changed.settings, "select count(*) from marts.lead_events where event_id in ('f-c1', 'e-c2')")
    assert erased == [(0,)]


def test_full_refresh_rebuilds_the_same_incremental_rows(changed: Changed) -> None:
    run_dbt(changed.settings, full_refresh=True)
    rebuilt = query(changed.settings, "select * from marts.lead_events order by source, event_id")
    assert rebuilt == changed.lead_events_incremental
    assert hashes(changed.settings) == changed.after


def test_second_installation_salt_fails_the_build_naming_the_test(settings: LeadgateSettings) -> None:
    with db.connect(settings) as con:
        con.execute("insert into meta.installation (installation_id, lead_id_salt) values ('copy', 'other-salt')")
    with pytest.raises(DbtFailed) as failed:
        run_dbt(settings)
    message = str(failed.value)
    assert "test assert_one_installation (fail: 1 rows)" in message
    assert "model intermediate.int_events_attributed" in message  # skipped, named
    assert query(settings, "select count(*) from information_schema.tables where table_schema = 'marts'") == [(0,)]


def test_broken_model_fails_the_build_naming_the_model(settings: LeadgateSettings, tmp_path: Path) -> None:
    project = tmp_path / "repo" / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REFERENCE_DIR, tmp_path / "repo" / "data" / "reference")
    (project / "models" / "marts" / "account_features.sql").write_text(
        "select no_such_column from {{ ref('lead_features') }}\n", encoding="utf-8"
    )
    with pytest.raises(DbtFailed, match=r"model marts\.account_features \(error: .*no_such_column"):
        run_dbt(settings, project_dir=project)


def test_a_forgotten_person_is_never_rebuilt_even_if_raw_holds_their_events_again(built: Built, tmp_path) -> None:
    from leadgate.store.forget import forget_person

    settings = make_settings(tmp_path)
    shutil.copyfile(built.settings.db_path, settings.db_path)
    assert query(settings, "select count(*) from marts.lead_features where email = 'ann@initrode.com'") == [(1,)]
    forget_person(settings, "ann@initrode.com")
    # Raw still holds her events behind ingest's back (written un-normalised, as by hand or an old version).
    assert query(settings, "select count(*) from raw.engagement_events where email = 'Ann@Initrode.com '") == [(1,)]
    run_dbt(settings)
    assert query(settings, "select count(*) from marts.lead_features where email = 'ann@initrode.com'") == [(0,)]
    assert query(settings, "select count(*) from marts.lead_events where event_id like '_-a_'") == [(0,)]
    assert query(settings, "select count(*) from marts.anonymous_visitors where anonymous_id = 'v-ann'") == [(0,)]
    assert query(settings, "select count(*) from marts.lead_features") == query(
        built.settings, "select count(*) - 1 from marts.lead_features"
    )


def test_recent_events_rank_each_leads_events_newest_first_for_review_and_the_llm(built: Built) -> None:
    ann = lead(built.settings, "ann@initrode.com")
    rows = query(
        built.settings,
        "select event_rank, event_id, message_rank, distinct_message_rank from marts.lead_recent_events"
        " where lead_id = ? order by event_rank",
        [ann["lead_id"]],
    )
    # Her own events and the anonymous ones stitched to her; the form's text is her one message.
    assert rows == [
        (1, "e-a5", None, None),
        (2, "w-a4", None, None),
        (3, "f-a3", 1, 1),
        (4, "w-a2", None, None),
        (5, "w-a1", None, None),
    ]
    everyone = query(built.settings, "select count(*), count(distinct lead_id) from marts.lead_recent_events")
    assert everyone == query(built.settings, "select count(*), count(distinct lead_id) from marts.lead_events")


def test_a_forgotten_lead_has_no_recent_events_now_or_after_the_next_build(built: Built, tmp_path) -> None:
    from leadgate.store.forget import forget_person

    settings = make_settings(tmp_path)
    shutil.copyfile(built.settings.db_path, settings.db_path)
    lead_id = lead(settings, "ann@initrode.com")["lead_id"]
    recent = "select count(*) from marts.lead_recent_events where lead_id = ?"
    assert query(settings, recent, [lead_id]) == [(5,)]
    report = forget_person(settings, "ann@initrode.com")
    assert report.tables["marts.lead_recent_events"] == 5 and query(settings, recent, [lead_id]) == [(0,)]
    run_dbt(settings)
    assert query(settings, recent, [lead_id]) == [(0,)]
