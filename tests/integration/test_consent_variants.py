"""Red-team variants of the consent rule on real ingest + dbt + routing + outbox (issue 8 item 1).

A consent value outside the vocabulary ('ｎｏ' in full width, 'declined_all', 'No.') is unknown: it must
never read as a grant because the event's type ('consent') is a granting term, and a later one must
end an earlier grant, so that neither is qualified nor owed to the CRM under the shipped policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadgate.ingest import ingest_paths
from leadgate.policy import load_policy
from leadgate.transform.dbt import run_dbt
from tests.integration.test_consent_rule import CONSENT, GRANTER, Pipeline, _decide, _lead, _settings

TYPED = "tia@northwind.io"  # a qualifying profile whose only consent event is type 'consent' with 'declined_all'
FULL_WIDTH = "finn@northwind.io"  # granted, then 'ｎｏ' (full width) a day later
DOTTED = "dora@northwind.io"  # granted, then 'No.' at the same instant
COMPOSED, DECOMPOSED = "\u00e5sa@northwind.io", "a\u030aSA@northwind.io"  # one address (NFC), two spellings


def _profile(email: str, consent_events: list[dict]) -> list[dict]:
    """The granter's qualifying events under another email, its consent event replaced by `consent_events`."""
    rows = [json.loads(line) for line in (CONSENT / "refusals.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["email"] == GRANTER]
    out = []
    for i, row in enumerate(rows):
        row = {**row, "email": email, "event_id": f"{email}-{i}"}
        row.pop("consent", None)
        out.append(row)
    return out + [{"source": "crm", "email": email, **e} for e in consent_events]


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> Pipeline:
    settings = _settings(tmp_path_factory.mktemp("consent-variants"))
    rows = (
        _profile(
            TYPED,
            [
                {
                    "event_id": "t-c",
                    "event_type": "consent",
                    "occurred_at": "2026-11-15T09:00:00Z",
                    "consent": "declined_all",
                }
            ],
        )
        + _profile(
            FULL_WIDTH,
            [
                {
                    "event_id": "f-g",
                    "event_type": "contact_updated",
                    "occurred_at": "2026-11-14T09:00:00Z",
                    "consent": True,
                },
                {
                    "event_id": "f-n",
                    "event_type": "contact_updated",
                    "occurred_at": "2026-11-15T09:00:00Z",
                    "consent": "ｎｏ",
                },
            ],
        )
        + _profile(
            DOTTED,
            [
                {
                    "event_id": "d-g",
                    "event_type": "contact_updated",
                    "occurred_at": "2026-11-15T09:00:00Z",
                    "consent": "yes",
                },
                {
                    "event_id": "d-n",
                    "event_type": "contact_updated",
                    "occurred_at": "2026-11-15T09:00:00Z",
                    "consent": "No.",
                },
            ],
        )
        + _profile(
            COMPOSED,
            [
                {
                    "event_id": "a-g",
                    "event_type": "contact_updated",
                    "occurred_at": "2026-11-14T09:00:00Z",
                    "consent": "yes",
                }
            ],
        )
        + [
            {
                "event_id": "a-u",
                "source": "email",
                "event_type": "unsubscribe",
                "occurred_at": "2026-11-15T09:00:00Z",
                "email": DECOMPOSED,
            }
        ]
    )
    path: Path = settings.inbox / "variants.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    ingest_paths(settings, [path])
    run_dbt(settings)
    policy = load_policy(settings.policy)
    _decide(settings, policy)
    return Pipeline(settings, policy)


@pytest.mark.parametrize("email", [TYPED, FULL_WIDTH, DOTTED])
def test_an_unreadable_consent_value_is_unknown_never_qualified_nor_owed(variants: Pipeline, email: str) -> None:
    lead = _lead(variants.settings, email)
    assert (lead["consent_status"], lead["has_consent"]) == ("unknown", False)
    assert (lead["state"], lead["owed"]) == ("nurture", False)
    assert "no_consent" in lead["reason_codes"]


def test_a_refusal_spelled_decomposed_withdraws_the_composed_persons_consent(variants: Pipeline) -> None:
    lead = _lead(variants.settings, COMPOSED)
    assert (lead["consent_status"], lead["state"], lead["owed"]) == ("withdrawn", "nurture", False)


def test_a_conflicting_copy_that_withdraws_consent_leaves_the_lead_uncontacted(tmp_path: Path) -> None:
    """A CRM re-export with the same event id and consent 'no' is a refusal, though the first copy (kept) said 'yes'."""
    settings = _settings(tmp_path / "copies")
    regranted, refused = "remy@northwind.io", "rita@northwind.io"
    first = _profile(
        regranted,
        [{"event_id": "r-c", "event_type": "contact_updated", "occurred_at": "2026-11-15T09:00:00Z", "consent": "yes"}],
    ) + _profile(
        refused,
        [{"event_id": "f-c", "event_type": "contact_updated", "occurred_at": "2026-11-15T09:00:00Z", "consent": "no"}],
    )
    again = [
        {**first[-1 - len(first) // 2], "consent": "no"},
        {**first[-1], "consent": "yes"},
    ]  # the two consent events
    (settings.inbox / "first.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first), encoding="utf-8")
    (settings.inbox / "again.jsonl").write_text("".join(json.dumps(r) + "\n" for r in again), encoding="utf-8")
    ingest_paths(settings, [settings.inbox / "first.jsonl"])
    report = ingest_paths(settings, [settings.inbox / "again.jsonl"])
    assert (report.conflicts, report.field_issues) == (2, 2)
    run_dbt(settings)
    policy = load_policy(settings.policy)
    _decide(settings, policy)
    lead = _lead(settings, regranted)
    assert (lead["consent_status"], lead["state"], lead["owed"]) == ("withdrawn", "nurture", False)
    lead = _lead(settings, refused)  # a copy saying 'yes' never undoes the first copy's refusal
    assert (lead["consent_status"], lead["state"], lead["owed"]) == ("withdrawn", "nurture", False)
