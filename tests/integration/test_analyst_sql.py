"""`leadgate sql` through the real command: table, CSV and JSON from the read copy; writes and bad SQL refused."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess

import pytest

from leadgate.store import db
from tests.e2e.helpers import LEADGATE, cli_env, leadgate, scalar
from tests.fixtures.services import builders
from tests.writer_holder import another_writer

STATES = "select lead_id, state from lifecycle.lead_states order by lead_id"


@pytest.fixture
def published(settings):
    """A seeded database and its read copy; returns (settings, CLI environment, expected rows)."""
    builders.seed(settings)
    db.publish_read_copy(settings)
    with db.read_connection(settings) as con:
        expected = con.execute(STATES).fetchall()
    return settings, cli_env(settings.db_path, settings.inbox), expected


def test_table_csv_and_json_give_the_same_rows(published):
    _, env, expected = published
    table = leadgate("sql", STATES, env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["lead_id", "state"] and set(lines[1]) <= {"-", " "}
    assert [tuple(line.split()) for line in lines[2:]] == expected
    assert f"({len(expected)} row(s))" in table.stderr

    as_csv = leadgate("sql", STATES, "--format", "csv", env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["lead_id", "state"] and [tuple(r) for r in rows[1:]] == expected

    as_json = leadgate("sql", STATES, "--format", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert [(r["lead_id"], r["state"]) for r in json.loads(as_json.stdout)] == expected


def test_output_is_bounded_by_limit(published):
    _, env, expected = published
    proc = leadgate("sql", STATES, "--format", "csv", "--limit", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1 + 2
    assert "more rows exist" in proc.stderr and len(expected) > 2


@pytest.mark.parametrize(
    "statement",
    [
        "insert into meta.runs (run_id, kind, started_at, status) values ('x', 'pipeline', now(), 'running')",
        "delete from lifecycle.lead_states",
        "select 1; drop table review.items",
        "copy (select * from lifecycle.lead_states) to '{out}'",
        "attach '{out}' as other",
        "set enable_external_access = true",
    ],
)
def test_writes_are_refused_in_one_line_and_change_nothing(published, tmp_path, statement):
    settings, env, expected = published
    out = tmp_path / "exported.csv"
    proc = leadgate("sql", statement.format(out=out), env=env)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("leadgate: error: ")
    assert not out.exists()
    assert scalar(settings.db_path, "select count(*) from lifecycle.lead_states") == len(expected)
    assert scalar(settings.read_db_path, "select count(*) from meta.runs where run_id = 'x'") == 0


def test_a_write_says_read_only(published):
    _, env, _ = published
    proc = leadgate("sql", "delete from lifecycle.lead_states", env=env)
    assert "refused: leadgate sql is read-only" in proc.stderr


@pytest.mark.parametrize(
    "statement, says",
    [
        ("selec 1", 'SQL error: Parser Error: syntax error at or near "selec"'),
        ("select nope from lifecycle.lead_states", 'SQL error: Binder Error: Referenced column "nope" not found'),
        ("select * from marts.no_such_table", "SQL error: Catalog Error: Table with name no_such_table does not exist"),
        ("   ", "no SQL given"),
    ],
)
def test_bad_sql_is_one_line(published, statement, says):
    _, env, _ = published
    proc = leadgate("sql", statement, env=env)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert says in proc.stderr


def test_answers_from_the_copy_while_a_writer_holds_the_main_file(published):
    settings, env, expected = published
    with db.connect(settings) as con:  # a change the copy does not have yet
        con.execute("update lifecycle.lead_states set state = 'rejected' where lead_id = ?", [expected[0][0]])
    for raw in (True, False):  # an analyst's own session, or a leadgate writer
        with another_writer(settings.db_path, raw=raw):
            proc = leadgate("sql", STATES, "--format", "csv", env=env)
        assert proc.returncode == 0, proc.stderr
        assert [tuple(r) for r in csv.reader(io.StringIO(proc.stdout))][1:] == expected
        assert "read copy published" in proc.stderr


def test_reads_the_main_file_when_the_copy_is_older_and_the_file_is_free(published):
    settings, env, expected = published
    with db.connect(settings) as con:
        con.execute("update lifecycle.lead_states set state = 'rejected' where lead_id = ?", [expected[0][0]])
    proc = leadgate("sql", STATES, "--format", "csv", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [tuple(r) for r in csv.reader(io.StringIO(proc.stdout))][1:]
    assert rows[0] == (expected[0][0], "rejected") and rows[1:] == expected[1:]


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """The command's stdout as a terminal receives it (a pseudo-terminal, not a pipe)."""
    main, tty = pty.openpty()
    proc = subprocess.Popen([LEADGATE, *args], env=env, stdout=tty, stderr=subprocess.DEVNULL)
    os.close(tty)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.wait(timeout=120) == 0
    return out.decode("utf-8", "replace")


HOSTILE = (
    "select chr(27) || '[2J' || chr(27) || ']52;c;ZXZpbA==' || chr(7) || 'Acme' || chr(155) || '31m Ltd' as company"
)


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_lead_text_cannot_drive_the_terminal(published, fmt):
    _, env, _ = published
    shown = _on_a_terminal("sql", HOSTILE, "--format", fmt, env=env)
    assert "Acme Ltd" in shown
    assert not any(ch in shown for ch in "\x1b\x07\x9b"), repr(shown)


def test_json_output_stays_valid_json_with_nan_and_infinity(published):
    _, env, _ = published
    out = leadgate("sql", "select 'nan'::double as x, ['inf'::double, 1.5] as l", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"x": None, "l": [None, 1.5]}]


def test_redirected_csv_keeps_the_values_exactly(published):
    _, env, _ = published
    as_csv = leadgate("sql", HOSTILE, "--format", "csv", env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[1] == "\x1b[2J\x1b]52;c;ZXZpbA==\x07Acme\x9b31m Ltd"
