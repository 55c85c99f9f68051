"""Signing in and out of the review queue: no page, item or action without a session; sessions end."""

from __future__ import annotations

from leadgate.review.reviewers import remove_reviewer
from leadgate.review.web.auth import SESSION_COOKIE, SignInLimiter
from leadgate.review.web.pages import safe_next
from tests.web.conftest import csrf_of, make_client, sign_in

PAGES = ["/queue", "/items/1", "/overrides", "/overrides.csv", "/metrics"]


def test_every_page_redirects_to_sign_in_and_every_action_answers_401(client, seeded_web):
    _, _, items = seeded_web
    item = min(items.values())
    for path in PAGES + [f"/items/{item}"]:
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/signin?next=" + path.split("?")[0]), path
    for path in (f"/items/{item}/approve", f"/items/{item}/reject", f"/items/{item}/clarify", "/bulk"):
        answer = client.post(path, data={"csrf_token": "x", "reason": "not a buyer", "item": str(item)})
        assert answer.status_code == 401, path
        assert "Bob" not in answer.text
    assert client.get("/static/review.js").status_code == 200  # the shipped script holds no lead data


def test_sign_in_sets_a_signed_httponly_samesite_cookie_that_expires(client):
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    page = client.get("/queue")
    assert page.status_code == 200 and "signed in as <strong>dana</strong>" in page.text
    good = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, good[:-10] + ("A" if good[-10] != "A" else "B") + good[-9:])  # tampered
    assert client.get("/queue").status_code == 303


def test_wrong_password_and_unknown_name_are_refused_alike(client):
    for name, password in (("dana", "wrong password!"), ("nobody", "correct horse battery")):
        answer = sign_in(client, name, password)
        assert answer.status_code == 401 and "Wrong name or password." in answer.text
        assert SESSION_COOKIE not in answer.cookies


def test_sign_in_without_its_csrf_token_is_refused(client):
    client.get("/signin")
    answer = client.post("/signin", data={"name": "dana", "password": "correct horse battery"})
    assert answer.status_code == 403


def test_sign_out_ends_the_session_even_for_a_copied_cookie(client):
    sign_in(client)
    stolen = client.cookies[SESSION_COOKIE]
    token = csrf_of(client, "/queue")
    assert client.post("/signout", data={}).status_code == 403  # a POST without its token
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, stolen)
    assert client.get("/queue").status_code == 303


def test_a_removed_reviewer_is_signed_out_at_the_next_request(client, seeded_web):
    settings = seeded_web[0]
    sign_in(client, "eve")
    assert client.get("/queue").status_code == 200
    remove_reviewer(settings, "eve")
    assert client.get("/queue").status_code == 303


def test_sign_in_is_rate_limited_per_name_and_per_address(seeded_web):
    settings = seeded_web[0]
    with make_client(settings, limiter=SignInLimiter(per_name=2, per_address=3)) as c:
        for _ in range(2):
            assert sign_in(c, "dana", "not the password").status_code == 401
        limited = sign_in(c, "dana")  # the right password, too late
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in limited.text
        assert sign_in(c, "eve").status_code == 303  # another name from the same address still works
        assert sign_in(c, "guess", "not the password").status_code == 401  # the address's third failure
        assert sign_in(c, "eve").status_code == 429  # the address is now over its limit


def test_next_never_leaves_the_site(client):
    token = csrf_of(client, "/signin")
    answer = client.post(
        "/signin",
        data={"name": "dana", "password": "correct horse battery", "csrf_token": token, "next": "//evil.example/x"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    for target in ("https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""):
        assert safe_next(target) == "/queue", target
    assert safe_next("/items/3?x=1") == "/items/3?x=1"


def test_the_limiter_forgets_after_its_window_and_stays_bounded():
    now = [1000.0]
    limiter = SignInLimiter(per_name=2, per_address=100, window=60, clock=lambda: now[0], max_tracked=1000)
    limiter.failed("dana", "10.0.0.1")
    limiter.failed("DANA", "10.0.0.1")  # names are compared case-insensitively
    assert limiter.retry_after("dana", "10.0.0.2") == 61
    now[0] += 61
    assert limiter.retry_after("dana", "10.0.0.1") == 0
    for n in range(5000):
        now[0] += 0.001
        limiter.failed(f"made-up-{n}", "10.0.0.3")
    assert len(limiter._failures) <= 1000
    assert limiter.retry_after("made-up-4999", "10.0.0.9") == 0 and limiter.retry_after("x", "10.0.0.3") > 0
