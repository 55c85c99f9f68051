"""User mistakes at the command line end in one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys

from tests.e2e.helpers import cli_env, leadgate


def _env(tmp_path, prefect_api=None, **extra):
    return cli_env(tmp_path / "leadgate.duckdb", tmp_path / "inbox", prefect_api, **extra)


def _one_clear_line(proc, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_status_before_anything_ran(tmp_path):
    _one_clear_line(leadgate("status", env=_env(tmp_path)), "no database", "leadgate run")


def test_invalid_setting_is_named(tmp_path):
    _one_clear_line(leadgate("sync", env=_env(tmp_path, LEADGATE_SYNC_MODE="sometimes")), "LEADGATE_SYNC_MODE")


def test_broken_policy_file_is_named(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: x\nscoring: {qualify_threshold: 2}\n", encoding="utf-8")
    proc = leadgate("run", env=_env(tmp_path, LEADGATE_POLICY=str(policy)))
    _one_clear_line(proc, "policy file", "qualify_threshold")


def test_ingest_of_a_missing_path(tmp_path):
    _one_clear_line(leadgate("ingest", str(tmp_path / "nope.jsonl"), env=_env(tmp_path)), "nope.jsonl")


def test_review_of_an_unknown_item(tmp_path):
    (tmp_path / "inbox").mkdir()
    assert leadgate("ingest", str(tmp_path / "inbox"), env=_env(tmp_path)).returncode == 0
    _one_clear_line(leadgate("review", "approve", "999999", "--reviewer", "x", env=_env(tmp_path)), "999999")


def test_status_and_review_do_not_load_prefect_dbt_or_gx(tmp_path):
    import subprocess

    env = _env(tmp_path)
    (tmp_path / "inbox").mkdir()
    assert leadgate("ingest", str(tmp_path / "inbox"), env=env).returncode == 0
    code = (
        "import sys\n"
        "from leadgate.cli import app as cli\n"
        "for args in (['status'], ['review', 'list']):\n"
        "    sys.argv = ['leadgate', *args]\n"
        "    try:\n"
        "        cli.main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'dbt', 'great_expectations'})\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_status_exits_1_when_an_invariant_is_broken(tmp_path):
    from leadgate.config import LeadgateSettings
    from leadgate.store import db

    env = _env(tmp_path)
    settings = LeadgateSettings(db=tmp_path / "leadgate.duckdb", _env_file=None)
    with db.connect(settings):
        pass
    assert leadgate("status", env=env).returncode == 0
    with db.connect(settings) as con:
        # a file recorded with 5 records of which nothing is in the raw tables: events were lost
        con.execute(
            "insert into raw.ingested_files values ('h', '/in/x.jsonl', 1, 0, 'jsonl', 'L1', 5, 5, 0, 0, 0, 0, now())"
        )
    proc = leadgate("status", env=env)
    assert proc.returncode == 1
    assert "BROKEN" in proc.stdout.upper() or "FAIL" in proc.stdout.upper()


def test_a_failed_run_ends_in_one_line_without_tracebacks(tmp_path, prefect_api):
    (tmp_path / "inbox").mkdir()
    env = _env(tmp_path, prefect_api=prefect_api, LEADGATE_SYNC_MODE="live", LEADGATE_CRM="none")
    proc = leadgate("run", env=env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("leadgate: error:")]
    assert len(errors) == 1 and "LEADGATE_CRM" in errors[0]
