"""The review domain through the page: the journal while a run holds the database, edits, reopen, promises,
overrides and metrics."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid

from leadgate.review import journal
from leadgate.review.service import ReviewService
from leadgate.store import db
from tests.web.conftest import csrf_of, session_for
from tests.writer_holder import another_writer

BOB, DAN = "bob@globex.com", "dan@umbrella.com"
PROMISE = "We will give you a 30% discount if you sign this week."


def _read(client, sql, params):
    """Through the server's own connections: its journal replay thread may be writing from this process."""
    with client.app.state.web.database.reading() as r:
        return r.con.execute(sql, params).fetchall()


def _item(client, item_id):
    return _read(client, "select status, reviewer, note, reject_reason from review.items where item_id = ?", [item_id])[
        0
    ]


def _audit(client, lead_id):
    return _read(
        client,
        "select actor, to_state from audit.decisions where lead_id = ? and kind = 'review' order by decision_id",
        [lead_id],
    )


def test_a_decision_while_a_run_holds_the_database_is_saved_and_lands_when_the_lock_frees(client, seeded_web):
    settings, ids, items = seeded_web
    dan, bob = items[ids[DAN]], items[ids[BOB]]
    decider = client.app.state.web.decider
    decider.stop()  # the replay timer waits until eve has decided bob (below)
    db.publish_read_copy(settings)  # what a run leaves for the pages to read meanwhile
    session_for(client)
    token = csrf_of(client, f"/items/{dan}")
    with another_writer(settings.db_path):  # leadgate's writer lock and a connection, as a pipeline run holds them
        for item in (dan, bob):
            answer = client.post(
                f"/items/{item}/reject", data={"csrf_token": token, "reason": "competitor", "detail": "reseller"}
            )
            assert answer.status_code == 202 and "Saved — applies when the current run finishes" in answer.text
        assert [(e.item_id, e.reviewer) for e in journal.pending(settings)] == [(dan, "dana"), (bob, "dana")]
        page = client.get(f"/items/{dan}").text
        assert "Saved — applies when the current run finishes" in page and 'id="reject"' not in page
    with client.app.state.web.database.writing():  # eve, at the command line, decides bob first
        ReviewService(settings).reject(bob, "eve", reason_code="duplicate")
    decider.start()
    deadline = time.monotonic() + 20  # the server replays its journal every 2 s
    while journal.pending(settings) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _item(client, dan) == ("rejected", "dana", "reseller", "competitor")
    assert _audit(client, ids[DAN]) == [("reviewer:dana", "rejected")]
    assert _item(client, bob)[:2] == ("rejected", "eve") and _audit(client, ids[BOB]) == [("reviewer:eve", "rejected")]
    queue = client.get("/queue").text  # dana is told her saved decision on bob did not apply
    assert f'Your saved reject of <a href="/items/{bob}">item {bob}</a> was not applied' in queue
    assert "already rejected by eve" in queue


def test_edit_then_approve_records_the_correction_beside_the_original_and_rescores(client, seeded_web):
    _settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client)
    page = client.get(f"/items/{dan}").text
    assert 'id="edit-company_size"' in page and 'placeholder="51-200"' in page
    answer = client.post(
        f"/items/{dan}/approve",
        data={
            "csrf_token": csrf_of(client, f"/items/{dan}"),
            "edit_company_size": "1000+",
            "edit_company": "",
            "company": "ignored",
        },
    )
    assert answer.status_code == 303
    edits = _read(
        client, "select field, original, edited, reviewer from review.lead_edits where lead_id = ?", [ids[DAN]]
    )
    scores = _read(client, "select count(*) from scoring.scores where lead_id = ?", [ids[DAN]])[0][0]
    assert edits == [("company_size", "51-200", "1000+", "dana")] and scores == 2
    assert _item(client, dan)[:2] == ("approved", "dana")
    shown = client.get(f"/items/{dan}").text
    assert "51-200" in shown and "1000+" in shown  # the correction beside the original


def test_a_reviewer_reopens_their_own_decision_and_no_one_else_can(client, seeded_web):
    from tests.web.conftest import make_client

    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client)
    client.post(f"/items/{dan}/reject", data={"csrf_token": csrf_of(client, f"/items/{dan}"), "reason": "duplicate"})
    other = make_client(settings)
    session_for(other, "eve")
    assert 'id="reopen"' not in other.get(f"/items/{dan}").text
    refused = other.post(f"/items/{dan}/reopen", data={"csrf_token": csrf_of(other, "/queue")})
    assert refused.status_code == 422 and "only they can reopen it" in refused.text
    assert 'id="reopen"' in client.get(f"/items/{dan}").text
    answer = client.post(f"/items/{dan}/reopen", data={"csrf_token": csrf_of(client, "/queue")})
    assert answer.status_code == 303 and _item(client, dan)[0] == "pending"


def test_a_promise_in_the_draft_must_be_confirmed_before_the_clarification_is_stored(client, seeded_web):
    _settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client)
    token, decision = csrf_of(client, f"/items/{dan}"), str(uuid.uuid4())
    draft = f"Hi Dan,\n\n{PROMISE} Which team is evaluating?"
    first = client.post(f"/items/{dan}/clarify", data={"csrf_token": token, "draft": draft, "decision_uuid": decision})
    assert first.status_code == 422 and _item(client, dan)[0] == "pending"
    flagged = re.findall(
        r'<label class="flagged"><input type="checkbox" name="confirm" value="([^"]+)"> <span>([^<]+)', first.text
    )
    assert [sentence for _, sentence in flagged] == [PROMISE]
    answer = client.post(
        f"/items/{dan}/clarify",
        data={"csrf_token": token, "draft": draft, "decision_uuid": decision, "confirm": flagged[0][0]},
    )
    assert answer.status_code == 303 and _item(client, dan)[0] == "clarification_requested"
    stored = _read(client, "select draft, reviewer from review.clarifications where item_id = ?", [dan])
    assert stored == [(draft, "dana")]


def test_overrides_are_grouped_and_downloadable_as_csv_behind_sign_in(client, seeded_web):
    _settings, ids, items = seeded_web
    session_for(client)
    bob = items[ids[BOB]]  # the machine would qualify bob (score 0.61): rejecting him overrides it
    client.post(
        f"/items/{bob}/reject",
        data={
            "csrf_token": csrf_of(client, f"/items/{bob}"),
            "reason": "other",
            "detail": '=HYPERLINK("http://ev.il")',
        },
    )
    page = client.get("/overrides").text
    assert "rejected over machine" in page and "company is missing" in page
    download = client.get("/overrides.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["item_id"], r["kind"], r["reviewer"]) for r in rows] == [(str(bob), "rejected_over_machine", "dana")]
    assert rows[0]["note"].startswith("'=")  # no formula reaches a spreadsheet
    client.cookies.clear()
    assert client.get("/overrides.csv").status_code == 303


def test_metrics_page_shows_the_numbers_and_server_side_charts(client, seeded_web):
    _settings, ids, items = seeded_web
    session_for(client)
    dan = items[ids[DAN]]
    client.post(f"/items/{dan}/reject", data={"csrf_token": csrf_of(client, f"/items/{dan}"), "reason": "spam"})
    page = client.get("/metrics")
    assert page.status_code == 200 and "Is the review loop healthy?" in page.text
    assert page.text.count("<svg") >= 5 and page.text.count("<script") == 1
    assert "Exception rate" in page.text and "business hours" in page.text
    assert client.get("/metrics?period=weekly").status_code == 200


def test_the_model_drafts_on_request_from_scrubbed_input_and_its_promises_are_flagged(seeded_web):
    from tests.web.conftest import make_client

    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    seen = []

    def drafter(prompt, view):
        seen.append(view)
        return "Hi [NAME],\n\nWe will have it live for you by Friday. Which team is evaluating?"

    with make_client(settings, drafter=drafter) as c:
        session_for(c)
        assert "Draft with the model instead" in c.get(f"/items/{dan}").text and seen == []
        page = c.get(f"/items/{dan}?draft=llm").text
    assert "Hi Dan," in page and "(llm draft" in page
    assert "<span>We will have it live for you by Friday.</span>" in page  # flagged: a delivery date
    assert DAN not in repr(seen) and "Brown" not in repr(seen)  # no email or surname sent
