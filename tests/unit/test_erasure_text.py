"""Finding a person in kept raw text: whole addresses in any case or escaping, and visitor ids as whole tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadgate.store.erasure_list import PersonMatcher, subject_hash, text_variants

CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "erasure" / "kept_lines.json").read_text("utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_a_kept_line_is_hers_exactly_when_it_names_her(case):
    matcher = PersonMatcher("alice@acme.com", {"anon-a1", "anon-a7"})
    assert matcher.names_person(case["raw_text"]) is case["hers"]


def test_her_own_line_yields_the_visitor_ids_it_links_even_escaped():
    line = r'{"email": "alice@acme.com", "anonymous_id": "anon-\u0061z", "occurred_at": "soon"'
    assert PersonMatcher("alice@acme.com").anonymous_ids_in(line) == {"anon-az"}


def test_escapes_are_undone_repeatedly_and_surrogate_pairs_join():
    variants = text_variants(r"a\\u0040b \ud83d\ude00")
    assert any("a@b" in v for v in variants) and any("\U0001f600" in v for v in variants)


def test_the_list_hash_is_salted_and_matches_what_sql_computes():
    import duckdb

    sql = duckdb.sql("select sha256('s1' || ':' || 'alice@acme.com')").fetchall()[0][0]
    assert subject_hash("s1", "alice@acme.com") == sql != subject_hash("s2", "alice@acme.com")
