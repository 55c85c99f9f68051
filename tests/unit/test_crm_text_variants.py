"""Red-team variants of CRM formula neutralisation (issue 8 item 8): a trigger hidden behind invisible
characters or written in a compatibility form (small, superscript) still gets its single quote."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadgate.shared.neutral_text import PROBLEM_INVISIBLE, crm_text

# Invisible in a spreadsheet cell, and dropped by some CRMs and exports: the value then starts with the trigger.
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\u00ad",
    "\u034f",
    "\u180e",
    "\u3164",
    "\ufeff",
    "\ufe0f",
    "\U000e0041",
    "\u00a0",
    "\u3000",
]
COMPAT_TRIGGERS = ["\ufe66", "\ufe62", "\ufe63", "\ufe6b", "\u207c", "\u207a", "\u208a", "\uff1d", "\uff20"]
TRIGGERS = "=+-@"


def _visible_start(text: str) -> str:
    """The first character a spreadsheet would see once invisible characters are dropped, as NFKC spells it."""
    for ch in text:
        if not (ch.isspace() or unicodedata.category(ch) == "Cf" or ch in INVISIBLE):
            return unicodedata.normalize("NFKC", ch)[:1]
    return ""


@pytest.mark.parametrize("invisible", INVISIBLE)
@pytest.mark.parametrize("field", ["first_name", "company", "job_title", "industry", "country"])
def test_a_trigger_behind_invisible_characters_is_neutralised_and_reported(field, invisible):
    out, problems = crm_text(field, f'{invisible}{invisible}=HYPERLINK("https://ev.il","x")')
    assert out == '\'=HYPERLINK("https://ev.il","x")'
    assert any(p.startswith("starts with '='") for p in problems)


@pytest.mark.parametrize("trigger", COMPAT_TRIGGERS)
def test_compatibility_forms_of_a_trigger_are_neutralised(trigger):
    out, problems = crm_text("company", f"{trigger}cmd|' /C calc'!A0")
    assert out == f"'{trigger}cmd|' /C calc'!A0" and problems


def test_invisible_lead_characters_alone_are_removed_and_recorded_but_text_inside_is_kept():
    assert crm_text("company", "\u200bAcme\u200dCorp ❤\ufe0f") == ("Acme\u200dCorp ❤\ufe0f", [PROBLEM_INVISIBLE])
    assert crm_text("phone", "\u2060+44 20 7946 0958") == ("+44 20 7946 0958", [PROBLEM_INVISIBLE])
    assert crm_text("company", "Acme GmbH") == ("Acme GmbH", [])


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["first_name", "last_name", "company", "job_title", "industry", "country", "lead_source"]),
    st.lists(
        st.sampled_from(INVISIBLE + COMPAT_TRIGGERS + list(TRIGGERS) + [" ", "\t", "a", "1", "<b>", "\x00"]),
        min_size=1,
        max_size=8,
    ).map("".join),
)
def test_no_value_starts_a_formula_once_invisible_characters_are_dropped(field, value):
    out, _ = crm_text(field, value)
    if out is not None:
        assert _visible_start(out) not in TRIGGERS, repr(out)
