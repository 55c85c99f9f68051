"""Checks on lead text and on the model's answers: never trust an answer blindly (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from connectors.llm.schema import LeadAnswer
from connectors.llm.screen import screen

# Phrases that say no: a `qualified` answer next to them contradicts the text.
_NEGATIVE_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bnot\s+(?:\w+\s+)?interested\b",
        r"\bno\s+longer\s+(?:interested|need|looking)\b",
        r"\b(?:remove|take)\s+(?:me|us)\s+(?:from|off)\b",
        r"\bremove\s+me\b",
        r"\bunsubscribe\b",
        r"\bopt(?:ing)?[\s\-]out\b",
        r"\bstop\s+(?:emailing|contacting|calling|sending|messaging)\b",
        r"\b(?:do\s+not|don't|dont|never)\s+(?:contact|email|call|reach\s+out|message)\b",
        r"\bwrong\s+person\b",
        r"\bno\s+budget\b",
        r"\bnot\s+(?:a\s+(?:good\s+)?fit|looking\s+(?:to\s+buy|for)|buying)\b",
        r"\b(?:went|going|chose|decided|signed)\s+(?:with|on|for)\s+(?:another|a\s+different|someone\s+else|a\s+competitor)\b",
    )
]
# One alternation, so the common case (no hit) costs a single scan.
_ANY_NEGATIVE = re.compile("|".join(f"(?:{p.pattern})" for p in _NEGATIVE_RES), re.IGNORECASE)
_NOT_BUYING_INTENTS = frozenset({"spam", "job_seeker", "vendor_pitch"})


def injection_signals(texts: Iterable[str]) -> list[str]:
    """The fragments of `texts` that try to instruct the model; empty when there are none."""
    # The screen (connectors.llm.screen): overrides, role and template markers, text addressed to the model,
    # and polite or indirect rating requests in five languages, read through NFKC, zero-width and look-alike folding.
    return list(dict.fromkeys(fragment for text in texts if text for _, fragment in screen(text)))


def negative_signals(texts: Iterable[str]) -> list[str]:
    """Fragments where the lead says no."""
    return [
        m.group(0)
        for text in texts
        if text and _ANY_NEGATIVE.search(text)
        for p in _NEGATIVE_RES
        if (m := p.search(text))
    ]


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"}))
    return re.sub(r"\s+", " ", text).strip(" \"'")


def unsupported_quotes(quotes: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Quotes that do not appear in the scrubbed input (case and whitespace aside; '...' joins parts)."""
    haystack = _normal(" \n ".join(t for t in texts if t))
    missing = []
    for quote in quotes:
        parts = [_normal(p) for p in re.split(r"\.\.\.|…", quote or "")]
        parts = [p for p in parts if p]
        if parts and not all(p in haystack for p in parts):
            missing.append(quote)
    return missing


def inconsistencies(answer: LeadAnswer, texts: Sequence[str]) -> list[str]:
    """Why `answer` cannot be trusted for a lead whose scrubbed messages are `texts`; empty if it can."""
    problems = []
    bad = unsupported_quotes(answer.evidence.quotes, texts)
    if bad:
        problems.append(f"evidence not in the input: {bad[0][:60]!r}")
    if answer.qualification == "qualified":
        negatives = negative_signals(texts)
        if negatives:
            problems.append(f"qualified although the text says {negatives[0]!r}")
        if answer.intent_category in _NOT_BUYING_INTENTS:
            problems.append(f"qualified with intent {answer.intent_category}")
    return problems
