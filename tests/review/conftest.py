"""A seeded review database (tests/fixtures/services/builders.py): bob and dan pending, alice and erin qualified."""

from __future__ import annotations

import pytest

from leadgate.policy import load_policy
from leadgate.review.service import ReviewService
from leadgate.store import db
from tests.fixtures.services import builders

BOB, DAN, CAROL, ALICE = "bob@globex.com", "dan@umbrella.com", "carol@initech.com", "alice@acme.com"


@pytest.fixture
def seeded(settings):
    """(settings, service, email -> lead_id, lead_id -> item_id) after one seeded run."""
    ids = builders.seed(settings)
    service = ReviewService(settings, load_policy(settings.policy))
    with db.read_connection(settings) as con:
        items = dict(con.execute("select lead_id, item_id from review.items").fetchall())
    return settings, service, ids, items


def state_of(settings, lead_id):
    with db.read_connection(settings) as con:
        return con.execute("select state from lifecycle.lead_states where lead_id = ?", [lead_id]).fetchone()[0]


def one(settings, sql, params=()):
    with db.read_connection(settings) as con:
        return con.execute(sql, list(params)).fetchall()
