"""Neutral output: lead text cannot drive a terminal, and CRM text fields cannot hold live formulas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadgate.shared.neutral_text import BIDI_CONTROLS, FORMULA_TRIGGERS, crm_text, one_line, terminal_safe

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
CASES = json.loads((HOSTILE / "terminal_texts.json").read_text(encoding="utf-8"))["cases"]
# What a terminal acts on: C0 controls but the newline, DEL, C1 controls, bidi controls, line/paragraph separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\u2028\u2029\ufeff]")

controls = st.sampled_from(
    [chr(c) for c in [*range(32), *range(127, 160)]] + list(BIDI_CONTROLS) + ["\u2028", "\u2029"]
)
sequences = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b[31;1m",
        "\x1b]8;;https://x.example\x1b\\",
        "\x1b]52;c;ZXZpbA==\x07",
        "\x1bc",
        "\x9b0m",
        "\x9d0;title\x9c",
        "\x1bP1$r\x1b\\",
        "\r",
        "\b\b",
        "\x1b]0;unterminated",
    ]
)
hostile_text = st.lists(st.one_of(st.text(max_size=8), controls, sequences), max_size=12).map("".join)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_terminal_escape_tricks_are_stripped_and_the_text_stays_readable(case):
    out = terminal_safe(case["text"])
    assert not UNSAFE.search(out) and "\x1b" not in out, repr(out)
    assert "evil.example" not in out and "cm0gLXJmIH4vKg" not in out and "pwned" not in out
    for visible in case["visible"]:
        assert visible in out
    assert "\n" not in one_line(case["text"] + "\nsecond line")


@settings(max_examples=300, deadline=None)
@given(hostile_text)
def test_no_control_character_or_escape_survives_terminal_safe(text):
    out = terminal_safe(text)
    assert not UNSAFE.search(out)
    line = one_line(text)
    assert "\n" not in line and not UNSAFE.search(line)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs"), blacklist_characters=BIDI_CONTROLS + "\u2028\u2029\ufeff"
        )
    )
)
def test_ordinary_text_passes_through_the_terminal_unchanged(text):
    assert terminal_safe(text) == text


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("first_name", '=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("company", "@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("last_name", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("job_title", "-2+3", "'-2+3"),
        ("company", "\t=1+1", "'=1+1"),
        ("company", "\r=1+1", "'=1+1"),
        ("company", "   =1+1", "'=1+1"),
        ("company", "\uff1d1+1", "'\uff1d1+1"),
        ("company", "<b>Acme</b> <img src=x onerror=alert(1)>Corp", "Acme Corp"),
        ("company", "<img src=x onerror=alert(1)", "img src=x onerror=alert(1)"),
        ("company", "Price<Quality Ltd", "PriceQuality Ltd"),
        ("company", "<script>alert(1)</script>Acme", "Acme"),
        ("company", "<b>=1+1</b>", "'=1+1"),
        ("company", "A < B and 3<5 seats", "A < B and 3<5 seats"),
        ("first_name", "Jo\x00hn", "John"),
        ("company", "Acme\u202e\u2066\u200f Corp", "Acme Corp"),
        ("phone", "+44 20 7946 0958", "+44 20 7946 0958"),
        ("phone", "+1 (415) 555-0100 ext. 12", "+1 (415) 555-0100 ext. 12"),
        ("phone", "+SUM(1)", "'+SUM(1)"),
        ("phone", "-44 20", "'-44 20"),
        ("email", "alice@acme.com", "alice@acme.com"),
        ("company", "Ordinary Company GmbH", "Ordinary Company GmbH"),
        ("reviewer_summary", "Approved by ann: line one\nline two", "Approved by ann: line one\nline two"),
        ("first_name", "Ann\nMarie", "Ann Marie"),
    ],
)
def test_crm_text_examples(field, value, expected):
    assert crm_text(field, value)[0] == expected


def test_each_change_is_reported_and_a_clean_value_reports_nothing():
    value, problems = crm_text("company", "\u202e<b>=Acme</b>\x00")
    assert value == "'=Acme"
    assert [p.split(" ")[0] for p in problems] == ["control", "bidi", "HTML", "starts"]
    assert crm_text("last_name", "Doe\nApproved: yes")[1] == ["line breaks replaced by spaces"]
    assert crm_text("company", "Acme Corp") == ("Acme Corp", [])
    assert crm_text("email", "+tag@acme.com")[0] == "+tag@acme.com"  # the match key is never rewritten


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["first_name", "last_name", "company", "job_title", "industry", "country", "phone", "lead_source"]),
    st.lists(
        st.one_of(
            st.text(max_size=6),
            controls,
            sequences,
            st.sampled_from(list(FORMULA_TRIGGERS) + ["<b>", "</i>", "<script>x</script>", " ", "\t"]),
        ),
        max_size=10,
    ).map("".join),
)
def test_no_crm_text_value_can_start_a_formula_or_hold_controls_or_tags(field, value):
    out, problems = crm_text(field, value)
    if out is None:
        return
    assert "\x00" not in out and not UNSAFE.search(out) and "\n" not in out
    assert not re.search(r"<[/!?]?[A-Za-z][^<>]*>", out)
    phone_kept = field == "phone" and out.startswith("+") and out[1:2].isdigit()
    assert out[0] not in FORMULA_TRIGGERS or phone_kept, out
    assert out == value.replace("\t", " ").strip() or problems  # every change but whitespace is reported
