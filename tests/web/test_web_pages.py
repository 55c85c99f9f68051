"""The queue and item pages: order, filters, search, escaping of hostile lead text, security headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from leadgate.store import db
from tests.web.conftest import session_for, sign_in

HOSTILE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "hostile" / "web_texts.json").read_text(encoding="utf-8")
)
BOB, DAN = "bob@globex.com", "dan@umbrella.com"


def _set(settings, item_id, **values):
    with db.connect(settings) as con:
        for column, value in values.items():
            con.execute(f"update review.items set {column} = ? where item_id = ?", [value, item_id])


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="item-row[^"]*" data-href="/items/(\d+)"', html)


def test_queue_lists_pending_items_by_priority_unprioritised_last_or_oldest_first(client, seeded_web):
    settings, ids, items = seeded_web
    bob, dan = items[ids[BOB]], items[ids[DAN]]
    session_for(client)
    _set(settings, dan, priority=0.9, tier="A")  # bob is older (same created_at: item id decides) but has no priority
    assert _rows(client.get("/queue").text) == [str(dan), str(bob)]
    assert _rows(client.get("/queue?sort=oldest").text) == [str(bob), str(dan)]
    _set(settings, bob, priority=0.95, tier="B")
    page = client.get("/queue").text
    assert _rows(page) == [str(bob), str(dan)]
    assert "company is missing" in page  # reason codes in plain words
    assert "High fit but almost no engagement" in page


def test_queue_filters_by_reason_tier_status_reviewer_and_searches_name_company_email(client, seeded_web):
    settings, ids, items = seeded_web
    bob, dan = items[ids[BOB]], items[ids[DAN]]
    _set(settings, dan, tier="A")
    session_for(client)
    assert _rows(client.get("/queue?reason=missing_company").text) == [str(bob)]
    assert _rows(client.get("/queue?tier=A").text) == [str(dan)]
    assert _rows(client.get("/queue?q=UMBRELLA").text) == [str(dan)]  # email, any case
    assert _rows(client.get("/queue?q=%25").text) == []  # % is a character, not a wildcard
    _set(settings, bob, status="rejected", reviewer="eve")
    assert _rows(client.get("/queue").text) == [str(dan)]
    assert _rows(client.get("/queue?status=all&reviewer=eve").text) == [str(bob)]
    assert _rows(client.get("/queue?status=rejected").text) == [str(bob)]


def test_overdue_items_stand_out_and_are_counted(client, seeded_web):
    settings, ids, items = seeded_web
    _set(settings, items[ids[BOB]], created_at="2026-01-01 08:00:00+00")
    session_for(client)
    page = client.get("/queue").text
    assert re.search(r'id="overdue-count">1<', page)
    assert re.search(rf'class="item-row overdue" data-href="/items/{items[ids[BOB]]}"', page)
    assert f'data-href="/items/{items[ids[DAN]]}"' in page and page.count("overdue</strong>") == 1


def test_hostile_lead_text_is_shown_escaped_on_queue_and_item_pages(client, seeded_web):
    settings, ids, items = seeded_web
    bob = items[ids[BOB]]
    events = json.dumps(
        [
            {
                "occurred_at": "2026-11-10T10:00:00Z",
                "source": "web",
                "event_type": "page_view",
                "page_url": HOSTILE["page_url"],
                "message": None,
            }
        ]
    )
    unknowns = json.dumps([{"field": HOSTILE["full_name"], "low": 0.4, "high": 0.7, "decides": True}])
    _set(
        settings,
        bob,
        full_name=HOSTILE["full_name"],
        company=HOSTILE["company"],
        job_title=HOSTILE["job_title"],
        summary=HOSTILE["summary"],
        latest_message=HOSTILE["latest_message"],
        tier=HOSTILE["tier"],
        recent_events=events,
        unknowns=unknowns,
    )
    with db.connect(settings) as con:
        con.execute("update review.items set reason_codes = [?] where item_id = ?", [HOSTILE["reason_code"], bob])
    session_for(client)
    for path in ("/queue?q=" + "%3Cscript%3E%22", "/queue?status=all", f"/items/{bob}"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.text
        assert html.count("<script") == 1 and '<script src="/static/review.js" defer></script>' in html, path
        for tag in ("<img", "<iframe", "<svg", "<b onclick", "<form action=//ev.il", 'href="javascript'):
            assert tag not in html, (path, tag)
        assert "&lt;script&gt;alert(" in html, path
    item_html = client.get(f"/items/{bob}").text
    assert "{{ 7*7 }} {% raw %}" in item_html  # lead text is data, never a template
    assert "&lt;/textarea&gt;&lt;svg" in item_html


def test_every_answer_carries_the_security_headers(client):
    for answer in (client.get("/signin"), client.get("/queue"), client.get("/static/review.css")):
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert sign_in(client).status_code == 303
    assert client.get("/queue").headers["cache-control"] == "no-store"


def test_item_page_shows_the_interaction_assessment_history_and_account(client, seeded_web):
    _settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    session_for(client)
    page = client.get(f"/items/{dan}").text
    assert "asked for a demo" in page and "+18.5" in page  # the reasons that moved the score
    assert "content_download" in page  # the timeline of recent events
    assert "route" in page and "needs_review" in page  # the lead's decision history
    assert "Keys:" in page and "<kbd>a</kbd> approve" in page
    assert client.get("/items/999999").status_code == 404


def test_pages_keep_working_from_the_read_copy_while_a_run_holds_the_database(client, seeded_web):
    from tests.writer_holder import another_writer

    settings, ids, items = seeded_web
    db.publish_read_copy(settings)
    session_for(client)
    with another_writer(settings.db_path, raw=True):  # a bare read-write connection locks the file like a run
        page = client.get("/queue")
        assert page.status_code == 200 and "A pipeline run is writing" in page.text
        assert _rows(page.text) == [str(items[ids[BOB]]), str(items[ids[DAN]])]
        assert client.get(f"/items/{items[ids[DAN]]}").status_code == 200


def test_odd_stored_values_and_crafted_notices_do_not_break_or_speak_on_the_page(client, seeded_web):
    settings, ids, items = seeded_web
    dan = items[ids[DAN]]
    _set(
        settings,
        dan,
        reasons=json.dumps([{"feature": "x", "points": "<b>lots</b>", "detail": "odd"}]),
        unknowns=json.dumps([{"field": "company_size", "low": "low", "high": None, "decides": "yes"}]),
    )
    session_for(client)
    page = client.get(f"/items/{dan}?notice=Your+session+expired%3A+sign+in+at+evil.example")
    assert page.status_code == 200 and "&lt;b&gt;lots&lt;/b&gt;" in page.text
    assert "evil.example" not in page.text
    assert "review item 7 approved" in client.get("/queue?notice=review+item+7+approved").text
