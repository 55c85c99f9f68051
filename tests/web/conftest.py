"""A seeded staging database with reviewers, and an in-process client of the review web app."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient

from leadgate.config import LeadgateSettings
from leadgate.policy import load_policy
from leadgate.review.reviewers import add_reviewer
from leadgate.review.web.app import create_app
from leadgate.review.web.auth import SESSION_COOKIE
from leadgate.store import db
from tests.fixtures.services import builders

PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "x" * 40
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    """Seeded once per session (argon2 hashing and the seed take seconds on a busy machine); tests get a copy."""
    settings = LeadgateSettings(
        db=tmp_path_factory.mktemp("web-template") / "leadgate.duckdb", lock_timeout=2.0, _env_file=None
    )
    ids = builders.seed(settings)
    add_reviewer(settings, "dana", PASSWORD)
    add_reviewer(settings, "eve", PASSWORD)
    with db.connect(settings) as con:
        con.execute("checkpoint")
    return settings.db_path, ids


@pytest.fixture
def seeded_web(settings, web_template):
    """(settings, lead ids by email, item ids by lead id) with reviewers dana and eve."""
    path, ids = web_template
    shutil.copyfile(path, settings.db_path)
    with db.read_connection(settings) as con:
        items = dict(con.execute("select lead_id, item_id from review.items").fetchall())
    return settings, ids, items


def make_client(settings, **options) -> TestClient:
    return TestClient(
        create_app(settings, load_policy(settings.policy), secret=SECRET, **options), follow_redirects=False
    )


@pytest.fixture
def client(seeded_web):
    with make_client(seeded_web[0]) as c:
        yield c


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return TOKEN.search(page.text).group(1)


def sign_in(client: TestClient, name: str = "dana", password: str = PASSWORD):
    token = csrf_of(client, "/signin")
    return client.post("/signin", data={"name": name, "password": password, "csrf_token": token, "next": "/queue"})


def session_for(client: TestClient, name: str = "dana") -> None:
    """Sign `client` in as `name` without the argon2 round (sign-in itself is tested in test_web_auth)."""
    settings = client.app.state.web.settings
    with db.read_connection(settings) as con:
        reviewer_id = con.execute("select reviewer_id from review.reviewers where name = ?", [name]).fetchone()[0]
    client.cookies.set(SESSION_COOKIE, client.app.state.web.sessions.issue(reviewer_id))


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1 (a free port); yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
