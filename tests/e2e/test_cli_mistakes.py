"""Operator mistakes are loud: a wrong inbox stops with exit 2, a file in the wrong shape warns, --strict fails on it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.helpers import cli_env, leadgate

INGEST = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


def _one_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_a_missing_or_wrong_inbox_is_one_line_naming_it_and_exit_2(tmp_path):
    wrong = tmp_path / "data" / "inbx"
    env = cli_env(tmp_path / "leadgate.duckdb", wrong)
    for args in (["run"], ["ingest"]):
        proc = leadgate(*args, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert _one_line(proc) == (
            f"leadgate: error: inbox {wrong} does not exist: "
            "set LEADGATE_INBOX (or --inbox) to the folder of event files"
        )
    wrong.parent.mkdir()
    wrong.write_text("a file, not a folder")
    proc = leadgate("run", env=env)
    assert proc.returncode == 2 and f"inbox {wrong} is not a folder" in _one_line(proc)
    proc = leadgate("ingest", str(tmp_path / "nope.jsonl"), env=env)
    assert proc.returncode == 2 and "nope.jsonl" in _one_line(proc)
    assert not (tmp_path / "leadgate.duckdb").exists()


def test_ingest_warns_about_a_semicolon_csv_and_strict_fails_on_it(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(INGEST / "semicolon.csv", inbox / "x.csv")
    proc = leadgate("ingest", env=cli_env(tmp_path / "a.duckdb", inbox))  # no path: the inbox
    assert proc.returncode == 0, proc.stderr
    warning = next(ln for ln in proc.stderr.splitlines() if ln.startswith("warning:"))
    assert warning.startswith(f"warning: {inbox / 'x.csv'}: 40 of 40 records rejected (missing")
    assert "the file looks ';'-delimited" in warning

    proc = leadgate("ingest", "--strict", str(inbox), env=cli_env(tmp_path / "b.duckdb", inbox))
    assert proc.returncode == 1
    assert warning in proc.stderr.splitlines()
    assert proc.stderr.splitlines()[-1] == "leadgate: error: --strict: 1 warning(s) (above)"


def test_run_shows_the_warning_in_its_summary_and_strict_fails_the_run(tmp_path, prefect_api):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(INGEST / "three_events.jsonl", inbox / "good.jsonl")
    shutil.copyfile(INGEST / "semicolon.csv", inbox / "x.csv")
    env = cli_env(tmp_path / "leadgate.duckdb", inbox, prefect_api)
    proc = leadgate("run", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.splitlines()
    at = summary.index("warnings")
    assert summary[at + 1].split()[0] == "ingest" and f"{inbox / 'x.csv'}: 40 of 40 records rejected" in summary[at + 1]

    shutil.copyfile(INGEST / "semicolon.csv", inbox / "y.csv")
    (inbox / "y.csv").write_text((inbox / "y.csv").read_text().replace("sc-", "sy-"))
    proc = leadgate("run", "--strict", env=env)
    assert proc.returncode == 1
    assert any(f"{inbox / 'y.csv'}: 40 of 40 records rejected" in ln for ln in proc.stdout.splitlines())
    assert proc.stderr.splitlines()[-1] == "leadgate: error: --strict: 1 warning(s) (above)"
