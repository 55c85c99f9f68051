"""One real-browser session (Debian's chromium through Playwright) over the review queue, then the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadgate.store import db
from tests.fixtures.services import builders
from tests.web.conftest import PASSWORD, make_client, served

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
ALICE, BOB, CAROL, DAN, ERIN = (
    "alice@acme.com",
    "bob@globex.com",
    "carol@initech.com",
    "dan@umbrella.com",
    "erin@hooli.com",
)
FRANK = "frank@umbrella.com"
PRICE_PROMISE = "We can give you a 20% discount on the list price if you sign this month."


def _chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: run `make browser` (apt-get install -y chromium; sudo when not root)")
    return found


def _more_items(settings, ids) -> dict[str, int]:
    """Items for alice, erin and carol (re-routed to review) and frank (a second Umbrella lead): email -> item."""
    with db.connect(settings) as con:
        con.execute(
            "insert into marts.lead_features select * replace ('ld_frank000000000' as lead_id, ? as email,"
            " 'Frank' as first_name, md5('frank') as feature_hash) from marts.lead_features where email = ?",
            [FRANK, DAN],
        )
        ids[FRANK] = "ld_frank000000000"
        for email in (ALICE, ERIN, FRANK, CAROL):
            score_id = builders.add_score(con, ids[email], 0.52, 0.5)
            builders.route(con, ids[email], "needs_review", ["low_confidence"], score_id)
            builders.open_item(con, ids[email], ["low_confidence"], score_id, summary="Close to the threshold")
        return dict(con.execute("select email, item_id from review.items").fetchall())


def _rows(settings, sql, params):
    with db.read_connection(settings) as con:
        return con.execute(sql, params).fetchall()


def test_a_reviewer_works_the_queue_in_a_real_browser(seeded_web):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    settings, ids, _ = seeded_web
    items = _more_items(settings, ids)
    ARTIFACTS.mkdir(exist_ok=True)
    client = make_client(settings)
    with served(client.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []  # script errors and CSP violations (a 422 answer is logged too: not one)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)

        page.goto(f"{base}/queue")  # -> the sign-in page
        page.fill("input[name=name]", "dana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/queue")
        assert page.locator("tr.item-row").count() == 6
        page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

        page.fill("input[name=q]", "hooli")  # filter, then open erin's item
        page.click("form.filters button[type=submit]")
        assert page.locator("tr.item-row").count() == 1
        page.click(f"a[href='/items/{items[ERIN]}']")
        page.screenshot(path=str(ARTIFACTS / "item.png"), full_page=True)
        page.click("#approve")
        page.wait_for_load_state()

        page.goto(f"{base}/items/{items[DAN]}")  # reject with a reason from the list
        page.select_option("#reject-reason", "competitor")
        page.fill("#reject-detail", "works for a reseller")
        page.click("#reject")
        page.wait_for_load_state()

        page.goto(f"{base}/items/{items[ALICE]}")  # correct the company size, then approve
        page.fill("#edit-company_size", "1000+")
        page.click("#edit-approve")
        page.wait_for_load_state()

        page.goto(f"{base}/items/{items[FRANK]}")  # a draft with a price promise
        page.keyboard.press("c")  # the shortcut puts the cursor in the draft
        assert page.evaluate("document.activeElement.id") == "clarify-draft"
        page.fill("#clarify-draft", f"Hello Frank,\n\n{PRICE_PROMISE} Which team is evaluating?\n\nBest regards")
        page.click("#clarify")
        page.wait_for_load_state()
        flagged = page.locator(".flagged")
        assert flagged.count() == 1 and "20% discount" in flagged.inner_text()
        page.check(".flagged input[type=checkbox]")
        page.click("#clarify")
        page.wait_for_load_state()

        page.goto(f"{base}/queue")  # bulk-reject bob and carol
        page.check(f"input[name=item][value='{items[BOB]}']")
        page.check(f"input[name=item][value='{items[CAROL]}']")
        page.select_option("#bulk-reason", "spam")
        page.click("button[name=action][value=reject]")
        page.wait_for_load_state()
        assert page.locator("tr.result-applied").count() == 2

        page.goto(f"{base}/metrics")
        page.screenshot(path=str(ARTIFACTS / "metrics.png"), full_page=True)
        browser.close()
    assert errors == []  # no CSP violation, no script error

    status = dict(_rows(settings, "select email, status || '/' || reviewer from review.items", []))
    assert status == {
        ALICE: "approved/dana",
        ERIN: "approved/dana",
        DAN: "rejected/dana",
        BOB: "rejected/dana",
        CAROL: "rejected/dana",
        FRANK: "clarification_requested/dana",
    }
    states = dict(_rows(settings, "select lead_id, state from lifecycle.lead_states", []))
    assert [states[ids[e]] for e in (ALICE, ERIN, DAN, BOB, CAROL, FRANK)] == [
        "qualified",
        "qualified",
        "rejected",
        "rejected",
        "rejected",
        "clarification_requested",
    ]
    audit = _rows(settings, "select lead_id, actor, to_state from audit.decisions where kind = 'review'", [])
    assert sorted((lead, actor, to) for lead, actor, to in audit) == sorted(
        (ids[e], "reviewer:dana", to)
        for e, to in (
            (ALICE, "qualified"),
            (ERIN, "qualified"),
            (DAN, "rejected"),
            (BOB, "rejected"),
            (CAROL, "rejected"),
            (FRANK, "clarification_requested"),
        )
    )
    draft, flagged = _rows(
        settings, "select draft, flagged from review.clarifications where item_id = ?", [items[FRANK]]
    )[0]
    assert PRICE_PROMISE in draft and "20% discount" in flagged
    edits = _rows(
        settings, "select field, original, edited, reviewer from review.lead_edits where lead_id = ?", [ids[ALICE]]
    )
    assert edits == [("company_size", "250", "1000+", "dana")]
    reasons = dict(_rows(settings, "select email, reject_reason from review.items where status = 'rejected'", []))
    assert reasons == {DAN: "competitor", BOB: "spam", CAROL: "spam"}
    for name in ("queue.png", "item.png", "metrics.png"):
        assert (ARTIFACTS / name).stat().st_size > 5000
