"""The review commands in-process: edit then approve, reject codes, reopen, the draft and its promises, replay, CSV."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.review import journal
from leadgate.review.decisions import DecisionRequest
from leadgate.review.errors import ReviewError
from tests.review.conftest import BOB, DAN, one, state_of


def test_the_review_commands_edit_reject_reopen_draft_replay_and_export(seeded, tmp_path):
    settings, _service, ids, items = seeded
    env = {"LEADGATE_DB": str(settings.db_path), "LEADGATE_READ_COPY_INTERVAL": "0", "LEADGATE_REVIEWER": "dana"}
    cli = CliRunner()
    dan, bob = str(items[ids[DAN]]), str(items[ids[BOB]])

    ok = cli.invoke(app, ["review", "approve", dan, "--edit", "job_title=VP Sales", "--edit", "country=de"], env=env)
    assert ok.exit_code == 0, ok.output
    assert sorted(one(settings, "select field, edited from review.lead_edits")) == [
        ("country", "DE"),
        ("job_title", "VP Sales"),
    ]
    bad = cli.invoke(app, ["review", "approve", bob, "--edit", "size"], env=env)
    assert isinstance(bad.exception, ReviewError) and "write it as field=value" in str(bad.exception)
    refused = cli.invoke(app, ["review", "reject", bob, "--reason-code", "bored"], env=env)
    assert isinstance(refused.exception, ReviewError) and "not in the policy's list" in str(refused.exception)

    assert cli.invoke(app, ["review", "reopen", dan], env=env).output == f"review item {dan} reopened: pending again\n"
    assert state_of(settings, ids[DAN]) == "needs_review"
    shown = cli.invoke(app, ["review", "draft", dan, "--template"], env=env)
    assert shown.stdout.startswith("Hi Dan,") and "(draft from the template" in shown.stderr

    draft = tmp_path / "draft.txt"
    draft.write_text(shown.stdout + "We can do 20% off if you sign this week.\n", encoding="utf-8")
    flagged = cli.invoke(
        app, ["review", "clarify", dan, "--question", "Which team?", "--draft-file", str(draft)], env=env
    )
    assert "nobody confirmed" in str(flagged.exception)
    digest = str(flagged.exception).split("(")[2].split(")")[0]
    done = cli.invoke(
        app,
        ["review", "clarify", dan, "--question", "Which team?", "--draft-file", str(draft), "--confirm", digest],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert state_of(settings, ids[DAN]) == "clarification_requested"

    journal.append(settings, DecisionRequest(items[ids[BOB]], "lee", "reject", {"reason_code": "spam"}))
    replayed = cli.invoke(app, ["review", "replay"], env=env)
    assert replayed.stdout.startswith("1 applied, 0 in conflict") and state_of(settings, ids[BOB]) == "rejected"

    out = tmp_path / "overrides.csv"
    assert cli.invoke(app, ["review", "overrides", "--csv", str(out)], env=env).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["item_id"], r["kind"]) for r in rows] == [(bob, "rejected_over_machine")]
