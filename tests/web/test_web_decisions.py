"""Decisions from the browser: attributed to the signed-in reviewer, CSRF-checked, never made twice."""

from __future__ import annotations

from leadgate.store import db
from tests.web.conftest import csrf_of, make_client, session_for

BOB, DAN = "bob@globex.com", "dan@umbrella.com"


def _item(settings, item_id):
    with db.read_connection(settings) as con:
        return con.execute(
            "select status, reviewer, note, question, reject_reason from review.items where item_id = ?", [item_id]
        ).fetchone()


def _audit(settings, lead_id):
    with db.read_connection(settings) as con:
        return con.execute(
            "select actor, to_state from audit.decisions where lead_id = ? and kind = 'review' order by decision_id",
            [lead_id],
        ).fetchall()


def test_approve_is_recorded_for_the_signed_in_reviewer_not_a_name_in_the_form(client, seeded_web):
    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client, "dana")
    token = csrf_of(client, f"/items/{dan}")
    answer = client.post(
        f"/items/{dan}/approve", data={"csrf_token": token, "note": "budget confirmed", "reviewer": "mallory"}
    )
    assert answer.status_code == 303 and "approved" in answer.headers["location"]
    assert _item(settings, dan)[:3] == ("approved", "dana", "budget confirmed")
    again = client.post(f"/items/{dan}/approve", data={"csrf_token": token, "decision_uuid": "not-a-uuid"})
    assert again.status_code == 409
    assert _audit(settings, ids[DAN]) == [("reviewer:dana", "qualified")]


def test_an_action_without_its_csrf_token_is_refused_and_changes_nothing(client, seeded_web):
    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client, "dana")
    for data in ({}, {"csrf_token": "forged"}):
        for action in ("approve", "reject", "clarify"):
            answer = client.post(f"/items/{dan}/{action}", data={**data, "reason": "not a buyer", "draft": "x"})
            assert answer.status_code == 403, (action, data)
        assert (
            client.post(
                "/bulk", data={**data, "action": "reject", "item": str(dan), "reason": "not a buyer"}
            ).status_code
            == 403
        )
    other = make_client(settings)  # eve's token is no good for dana's session
    session_for(other, "eve")
    eve_token = csrf_of(other, "/queue")
    assert client.post(f"/items/{dan}/approve", data={"csrf_token": eve_token}).status_code == 403
    assert _item(settings, dan)[0] == "pending" and _audit(settings, ids[DAN]) == []


def test_reject_needs_a_listed_reason_and_keeps_the_free_text(client, seeded_web):
    settings, ids, items = seeded_web
    bob = items[ids[BOB]]
    session_for(client)
    token = csrf_of(client, f"/items/{bob}")
    assert client.post(f"/items/{bob}/reject", data={"csrf_token": token, "reason": "because"}).status_code == 422
    assert _item(settings, bob)[0] == "pending"
    assert "student or job seeker" in client.get(f"/items/{bob}").text  # the policy's list, in words
    answer = client.post(
        f"/items/{bob}/reject",
        data={"csrf_token": token, "reason": "student_or_job_seeker", "detail": "thesis project"},
    )
    assert answer.status_code == 303
    assert _item(settings, bob) == ("rejected", "dana", "thesis project", None, "student_or_job_seeker")
    assert _audit(settings, ids[BOB]) == [("reviewer:dana", "rejected")]


def test_approval_refused_by_the_service_says_why(client, seeded_web):
    settings, ids, items = seeded_web
    bob = items[ids[BOB]]
    session_for(client)
    answer = client.post(f"/items/{bob}/approve", data={"csrf_token": csrf_of(client, f"/items/{bob}")})
    assert answer.status_code == 422 and "missing last_name, company" in answer.text
    assert _item(settings, bob)[0] == "pending"


def test_the_second_reviewer_is_told_who_decided_and_how_and_nothing_is_decided_twice(client, seeded_web):
    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client, "dana")
    other = make_client(settings)
    session_for(other, "eve")
    eve_token = csrf_of(other, f"/items/{dan}")  # eve opened the item before dana decided
    assert (
        client.post(
            f"/items/{dan}/reject", data={"csrf_token": csrf_of(client, f"/items/{dan}"), "reason": "competitor"}
        ).status_code
        == 303
    )
    late = other.post(f"/items/{dan}/approve", data={"csrf_token": eve_token})
    assert late.status_code == 409
    assert "already <strong>rejected</strong>" in late.text and "by <strong>dana</strong>" in late.text
    assert _item(settings, dan)[:2] == ("rejected", "dana")
    assert _audit(settings, ids[DAN]) == [("reviewer:dana", "rejected")]


def test_bulk_reject_applies_one_reason_to_every_selected_item(client, seeded_web):
    settings, ids, items = seeded_web
    bob, dan = items[ids[BOB]], items[ids[DAN]]
    session_for(client)
    token = csrf_of(client, "/queue")
    answer = client.post(
        "/bulk",
        data={"csrf_token": token, "action": "reject", "item": [str(bob), str(dan)], "reason": "spam or test entry"},
    )  # not a policy code
    assert answer.status_code == 200 and answer.text.count(">done<") == 0 and answer.text.count("not done") == 2
    answer = client.post(
        "/bulk",
        data={
            "csrf_token": token,
            "action": "reject",
            "item": [str(bob), str(dan)],
            "reason": "spam",
            "detail": "test entries",
        },
    )
    assert answer.status_code == 200 and answer.text.count(">done<") == 2
    assert [_item(settings, i)[::2] for i in (bob, dan)] == [("rejected", "test entries", "spam")] * 2


def test_clarification_stores_the_edited_draft(client, seeded_web):
    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client)
    page = client.get(f"/items/{dan}").text
    assert "Hi Dan," in page and "Thank you for getting in touch with us about Umbrella." in page  # the draft
    answer = client.post(
        f"/items/{dan}/clarify",
        data={"csrf_token": csrf_of(client, f"/items/{dan}"), "draft": "Hi Dan, which team is evaluating?"},
    )
    assert answer.status_code == 303
    assert _item(settings, dan)[:2] == ("clarification_requested", "dana")
    with db.read_connection(settings) as con:
        stored = con.execute("select draft, source from review.clarifications where item_id = ?", [dan]).fetchall()
    assert stored == [("Hi Dan, which team is evaluating?", "reviewer")]
