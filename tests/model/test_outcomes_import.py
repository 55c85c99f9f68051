"""`leadgate import outcomes`: rows recorded per lead, bad rows rejected with reasons, re-import changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.model.outcomes import OutcomeFileError, import_outcomes
from leadgate.store import db
from tests.conftest import FIXTURES

MIXED = FIXTURES / "model" / "outcomes_mixed.csv"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _tables(con) -> tuple:
    return tuple(
        con.execute(f"select count(*) from scoring.{t}").fetchone()[0]
        for t in ("outcomes", "outcome_rejects", "outcome_imports")
    )


def test_bad_rows_are_rejected_with_reasons_and_good_ones_recorded_per_lead(settings):
    with db.connect(settings) as con:
        report = import_outcomes(
            con, MIXED, key="Email", outcome="Deal Stage", positive="closed won", closed_at="Closed", now=NOW
        )
        rejects = dict(con.execute("select source_row, reason from scoring.outcome_rejects").fetchall())
        outcomes = con.execute("select converted, closed_at from scoring.outcomes order by closed_at").fetchall()
    assert (report.records, report.recorded, report.unchanged, report.rejected) == (10, 2, 1, 7)
    assert rejects[3] == "missing key"
    assert rejects[4] == "key 'bob@@example' is not a valid email address"
    assert rejects[5] == "no lead with id ld_00000000deadbeef"
    assert "is not a date" in rejects[6]
    assert rejects[8] == "conflicts with line 7 for the same lead"  # SAM.ORTIZ@… is sam.ortiz@…
    assert "not an email, a lead id or an imported external key" in rejects[9]
    assert "in the future" in rejects[10]
    assert [c for c, _ in outcomes] == [True, False]  # dana won, sam lost (line 7)
    assert "7 rejected" in report.message and "missing key: 1" in report.message


def test_reimporting_the_same_file_changes_nothing(settings):
    with db.connect(settings) as con:
        import_outcomes(
            con, MIXED, key="Email", outcome="Deal Stage", positive="Closed Won", closed_at="Closed", now=NOW
        )
        before = _tables(con)
        again = import_outcomes(
            con, MIXED, key="Email", outcome="Deal Stage", positive="Closed Won", closed_at="Closed", now=NOW
        )
        assert _tables(con) == before
        assert again.already_imported and "nothing changed" in again.message
        # the same rows under another file name: every outcome is unchanged, nothing new is recorded
        copy = settings.db_path.parent / "copy.csv"
        copy.write_bytes(MIXED.read_bytes() + b"\n")
        third = import_outcomes(
            con, copy, key="Email", outcome="Deal Stage", positive="Closed Won", closed_at="Closed", now=NOW
        )
        assert (third.recorded, third.unchanged) == (0, 3)
        assert con.execute("select count(*) from scoring.outcomes").fetchone()[0] == before[0]


def test_a_file_without_the_named_column_is_one_clear_error(settings):
    with db.connect(settings) as con, pytest.raises(OutcomeFileError, match="has no column 'won'.*--outcome"):
        import_outcomes(con, MIXED, key="Email", outcome="won")


def test_the_command_shows_counts_and_the_rejected_lines(settings, monkeypatch):
    monkeypatch.setenv("LEADGATE_DB", str(settings.db_path))
    yesno = FIXTURES / "model" / "outcomes_yesno.csv"
    result = CliRunner().invoke(app, ["import", "outcomes", str(yesno), "--key", "email", "--outcome", "converted"])
    assert result.exit_code == 0, result.output
    assert "3 rows: 2 outcomes recorded, 0 unchanged, 1 rejected" in result.output
    assert "rejected line 3: outcome 'maybe' is not a known yes/no value" in result.output


def test_sample_outcomes_are_written_beside_the_events_for_every_lead(tmp_path):
    import csv

    from leadgate.sample.generator import SAMPLE_NOW, write_sample
    from leadgate.sample.outcomes import write_sample_outcomes

    report = write_sample(tmp_path / "gen", leads=80, seed=4)
    path, rows, won = write_sample_outcomes(tmp_path / "gen", leads=80, seed=4)
    assert path.parent == tmp_path and not any((tmp_path / "gen").glob("*outcome*"))  # ingest never reads it
    with open(path, newline="") as fh:
        records = list(csv.DictReader(fh))
    assert rows == report.leads == len(records) == len({r["email"] for r in records})
    assert 0 < won < rows and {r["stage"] for r in records} == {"Closed Won", "Closed Lost"}
    assert all(r["closed_at"] > SAMPLE_NOW.strftime("%Y-%m-%dT%H:%M:%SZ") for r in records)  # closed after scoring
    assert write_sample_outcomes(tmp_path / "gen", leads=80, seed=4)[0].read_bytes() == path.read_bytes()
