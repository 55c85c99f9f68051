"""A seeded review database (tests/fixtures/services/builders.py): bob and dan pending, alice and erin qualified."""

from __future__ import annotations

import shutil

import pytest

from leadgate.policy import load_policy
from leadgate.review.service import ReviewService
from leadgate.store import db
from tests.fixtures.services import builders

BOB, DAN, CAROL, ALICE = "bob@globex.com", "dan@umbrella.com", "carol@initech.com", "alice@acme.com"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    """One seeded database file per session; each test works on its own copy (seeding costs ~1.5 s)."""
    from leadgate.config import LeadgateSettings

    folder = tmp_path_factory.mktemp("review-template")
    template = LeadgateSettings(db=folder / "leadgate.duckdb", lock_timeout=2.0, _env_file=None)
    ids = builders.seed(template)
    return template.db_path, ids


@pytest.fixture
def seeded(settings, seeded_template):
    """(settings, service, email -> lead_id, lead_id -> item_id) after one seeded run."""
    path, ids = seeded_template
    shutil.copyfile(path, settings.db_path)
    # Publish the read copy at once after each decision: no detached trailing publisher per test.
    settings = settings.model_copy(update={"read_copy_interval": 0.0})
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
