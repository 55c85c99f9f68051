"""Two real `leadgate run`s (Prefect flow): a later re-export of an event that refuses consent takes effect
at once, though it brings no new event (issue 8 item 1: a refusal always wins over an earlier grant)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.helpers import cli_env, leadgate, query

pytestmark = pytest.mark.slow
CONSENT = Path(__file__).resolve().parents[1] / "fixtures" / "consent"
GRACE = "grace@northwind.io"  # qualified by refusals.jsonl; her consent comes from event grant-5


def _grace(db: Path) -> tuple:
    return query(
        db,
        """select f.consent_status, exists (select 1 from sync.outbox o where o.lead_id = f.lead_id)
                        from marts.lead_features f where f.email = ?""",
        [GRACE],
    )[0]


def test_a_re_export_refusing_consent_withdraws_it_on_the_next_run(tmp_path, prefect_api):
    inbox, db = tmp_path / "inbox", tmp_path / "leadgate.duckdb"
    inbox.mkdir()
    shutil.copyfile(CONSENT / "refusals.jsonl", inbox / "refusals.jsonl")
    env = cli_env(db, inbox, prefect_api)
    first = leadgate("run", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _grace(db) == ("granted", True)

    rows = [json.loads(line) for line in (CONSENT / "refusals.jsonl").read_text(encoding="utf-8").splitlines()]
    grant = next(r for r in rows if r["event_id"] == "grant-5")
    (inbox / "crm-reexport.jsonl").write_text(json.dumps({**grant, "consent": "no"}) + "\n", encoding="utf-8")
    second = leadgate("run", env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert _grace(db) == ("withdrawn", False)
    assert query(db, "select count(*) from raw.field_issues where event_id = 'grant-5' and raw_value = 'false'") == [
        (1,)
    ]
