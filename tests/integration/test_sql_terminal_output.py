"""`leadgate sql` prints lead text to the analyst's terminal: no escape sequence survives (issue 8 item 7)."""

from __future__ import annotations

import re

import pytest

from leadgate.store import db
from tests.e2e.helpers import cli_env, leadgate
from tests.fixtures.services import builders

HOSTILE = (
    "Hi\x1b]8;;https://ev.il\x07click\x1b]8;;\x07 \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H"
    "\x9b31mred\x1bc Approved\rRejected \u202eoll\x1b"
)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
QUERY = "select email, latest_message from marts.lead_features where email = 'alice@acme.com'"


@pytest.fixture
def hostile_copy(settings):
    builders.seed(settings)
    with db.connect(settings) as con:
        con.execute("update marts.lead_features set latest_message = ? where email = 'alice@acme.com'", [HOSTILE])
    db.publish_read_copy(settings)
    return cli_env(settings.db_path, settings.inbox)


# CSV is terminal-safe when stdout is a terminal (test_analyst_sql.py, on a pseudo-terminal); redirected
# to a file it keeps the values exactly, so it is not in this list.
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_sql_output_of_lead_text_has_no_escape_or_control(hostile_copy, fmt):
    proc = leadgate("sql", QUERY, "--format", fmt, env=hostile_copy)
    assert proc.returncode == 0, proc.stderr
    assert not UNSAFE.search(proc.stdout), repr(proc.stdout)
    assert "click" in proc.stdout and "Rejected" in proc.stdout  # the text itself stays readable
