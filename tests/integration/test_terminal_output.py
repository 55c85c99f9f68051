"""Lead text cannot drive the reviewer's terminal: the real `leadgate` command prints it without escape
sequences or control characters (`review list`, `review show`, `sync --preview`, `status`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from leadgate.shared.neutral_text import BIDI_CONTROLS
from leadgate.store import db
from tests.e2e.helpers import cli_env, leadgate
from tests.fixtures.services import builders

CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "terminal_texts.json").read_text(encoding="utf-8")
)["cases"]
TEXT = {case["name"]: case["text"] for case in CASES}
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\u2028\u2029]")
BOB, ALICE = "bob@globex.com", "alice@acme.com"


def _assert_inert(output: str) -> None:
    assert not UNSAFE.search(output), repr(UNSAFE.search(output).group())
    for leaked in ("evil.example", "cm0gLXJmIH4vKg", "pwned"):
        assert leaked not in output


@pytest.fixture
def hostile_db(settings, tmp_path):
    """bob's review item carries every trick (name, company, message); alice's name and the last run's error too."""
    ids = builders.seed(settings)
    text = " | ".join(case["text"] for case in CASES)
    with db.connect(settings) as con:
        con.execute(
            "update review.items set full_name = ?, company = ?, latest_message = ?, summary = ? where lead_id = ?",
            [TEXT["osc8_link"], TEXT["clear_screen"], text, TEXT["carriage_return"], ids[BOB]],
        )
        con.execute(
            "update marts.lead_features set first_name = ?, company = ? where email = ?",
            [TEXT["osc8_link_bel"], TEXT["terminal_reset"], ALICE],
        )
        # a payload the CRM acknowledged before text was neutralised: the preview shows it as the old value
        old = {
            "lead_id": ids[ALICE],
            "email": ALICE,
            "first_name": TEXT["carriage_return"],
            "company": TEXT["bidi_override"],
        }
        con.execute(
            "insert into sync.state (crm, lead_id, acked_payload_hash, acked_payload, acked_at, status, updated_at)"
            " values ('none', ?, 'old-hash', ?::json, now(), 'acknowledged', now())",
            [ids[ALICE], json.dumps(old)],
        )
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, finished_at, status, error)"
            " values ('r-hostile', 'pipeline', now(), now(), 'failed', ?)",
            [TEXT["osc52_clipboard"]],
        )
        item_id = con.execute("select item_id from review.items where lead_id = ?", [ids[BOB]]).fetchall()[0][0]
    env = cli_env(settings.db_path, settings.inbox)
    return env, item_id


def test_review_list_and_show_print_lead_text_without_escape_sequences(hostile_db):
    env, item_id = hostile_db
    listed = leadgate("review", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    _assert_inert(listed.stdout)
    assert "Click here for the demo" in listed.stdout and "APPROVED by admin" in listed.stdout
    assert len({len(line) for line in listed.stdout.splitlines()[:1]}) == 1
    shown = leadgate("review", "show", str(item_id), env=env)
    assert shown.returncode == 0, shown.stderr
    _assert_inert(shown.stdout)
    for case in CASES:
        for visible in case["visible"]:
            assert visible in shown.stdout, (case["name"], visible)
    # the message stays under its heading: no line of lead text poses as a line of leadgate's own output
    message_lines = shown.stdout.split("  latest message\n", 1)[1].split("\n  ", 1)[0].splitlines()
    assert all(line.startswith("    ") for line in message_lines)


def test_sync_preview_and_status_print_lead_text_without_escape_sequences(hostile_db):
    env, _ = hostile_db
    preview = leadgate("sync", "--preview", env=env)
    assert preview.returncode == 0, preview.stderr
    _assert_inert(preview.stdout)
    assert "I am the CFO" in preview.stdout and "fdp.exe" in preview.stdout and "-> 'Our site works'" in preview.stdout
    status = leadgate("status", env=env)
    _assert_inert(status.stdout)
    assert "Hello team" in status.stdout
