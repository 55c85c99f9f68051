"""The consent rule's pure parts: the vocabulary, the policy switch, and routing under both settings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from leadgate.config import DBT_PROJECT_DIR
from leadgate.policy import ConsentPolicy, PolicyError, consent, load_policy
from leadgate.routing.rules import route_leads
from tests.fixtures.scoring.frames import routing_cases, test_policy

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "consent" / "vocabulary_cases.csv"
MEANING = {"grant": True, "refusal": False, "unknown": None}


def _cases() -> list[tuple[object, bool | None]]:
    with CASES.open(encoding="utf-8", newline="") as handle:
        return [(json.loads(row["json_value"]), MEANING[row["expected"]]) for row in csv.DictReader(handle)]


def _variants(term: str) -> list[str]:
    return [term, term.upper(), term.title(), f"  {term} ", f"\t{term.upper()}\u00a0", f"\u3000{term}"]


@pytest.mark.parametrize("value, expected", _cases())
def test_fixture_cases_parse_as_documented(value, expected):
    assert consent.parse_consent(value) is expected


def test_every_term_in_every_case_and_spacing_means_the_same_in_python_and_in_ingest_sql():
    values, expected = [], []
    for term, grants in consent.vocabulary().items():
        for variant in _variants(term):
            values.append(variant)
            expected.append(grants)
    values += ["Opt - In", "opted_out", "OPTED-OUT", "un-subscribed", "-1", "1-", "maybe", "yes!", "ｙｅｓ", ""]
    expected += [True, False, False, False, None, None, None, None, None, None]
    assert [consent.parse_consent(v) for v in values] == expected
    with duckdb.connect() as con:
        sql = con.execute(
            f"select {consent.consent_sql('v')} from unnest(?) with ordinality t(v, i) order by i", [values]
        ).fetchall()
    assert [r[0] for r in sql] == expected


def test_the_documented_pairs_are_in_the_vocabulary():
    words = consent.vocabulary()
    for grant, refusal in [
        ("true", "false"),
        ("yes", "no"),
        ("y", "n"),
        ("1", "0"),
        ("on", "off"),
        ("opt-in", "opt-out"),
        ("opted in", "opted out"),
        ("granted", "withdrawn"),
        ("subscribed", "unsubscribed"),
    ]:
        assert (consent.parse_consent(grant), consent.parse_consent(refusal)) == (True, False), (grant, refusal)
    assert consent.parse_consent(True) is True and consent.parse_consent(0) is False and len(words) >= 18


def test_dbt_uses_the_same_vocabulary_file_and_patterns():
    assert consent.VOCABULARY_FILE.parent == DBT_PROJECT_DIR / "seeds"
    macros = (DBT_PROJECT_DIR / "macros" / "leadgate_helpers.sql").read_text(encoding="utf-8")
    body = macros.split("macro consent_term(column)")[1].split("endmacro")[0]
    assert f"'{consent.SEPARATORS}'" in body and f"'{consent.JOINERS}'" in body


def test_policy_switch_defaults_to_deny_and_rejects_other_values(tmp_path):
    assert test_policy().consent.unknown == "deny"
    assert consent.allowed_statuses(test_policy()) == ("granted",)
    bad = tmp_path / "policy.yaml"
    text = (Path(__file__).resolve().parents[1] / "fixtures" / "scoring" / "policy.yaml").read_text(encoding="utf-8")
    bad.write_text(text + "\nconsent:\n  unknown: maybe\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="consent.unknown"):
        load_policy(bad)


def _allow():
    return test_policy().model_copy(update={"consent": ConsentPolicy(unknown="allow")})


@pytest.mark.parametrize(
    "status, flag, deny, allow",
    [
        ("granted", True, True, True),
        ("withdrawn", False, False, False),
        ("unknown", False, False, True),  # the mart built under deny; the current policy decides
        ("unknown", True, False, True),  # a mart from before consent.unknown existed
        (None, None, False, True),
        ("granted", False, False, False),  # a flag set to false wins over 'granted'
        (None, False, False, False),
        (None, True, True, True),
    ],
)
def test_allows_contact(status, flag, deny, allow):
    assert consent.allows_contact(status, test_policy(), flag) is deny
    assert consent.allows_contact(status, _allow(), flag) is allow


def test_routing_denies_unknown_consent_by_default_and_allows_it_with_the_switch():
    cases = routing_cases()
    row = cases[cases["case"] == "auto_qualified"].copy()
    row["consent_status"], row["has_consent"] = "unknown", True  # what the mart said before this rule
    [denied] = route_leads(row, None, test_policy())
    assert (denied.state, denied.reason_codes) == ("nurture", ("no_consent",))
    assert "unknown" in denied.summary
    [allowed] = route_leads(row, None, _allow())
    assert (allowed.state, allowed.reason_codes) == ("qualified", ("auto_qualified",))
    row["consent_status"], row["has_consent"] = "withdrawn", False
    assert route_leads(row, None, _allow())[0].state == "nurture"
