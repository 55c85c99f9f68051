"""Checks on lead text and on the model's answers: never trust an answer blindly (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from connectors.llm.schema import LeadAnswer
from connectors.llm.screen import screen

# Text written to steer the model rather than to describe a need.
_INJECTION_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(?:instructions?|prompts?|rules|guidelines|system\s+prompt)\b",
        r"\b(?:mark|score|rate|classify|label|flag|set|treat|put)\s+(?:me|us|this(?:\s+lead)?|all(?:\s+(?:of\s+)?(?:the\s+)?(?:leads|them))?|every\s+lead|everyone|each\s+lead|[\w\-]+\s+leads)\b[^.\n]{0,20}\b(?:qualified|hot|high[\s\-]priority|100|1\.0|sales[\s\-]ready|mql)\b",
        r"(?:^|[\n\r]|[.!?]\s)\s*(?:system|assistant|developer|user)\s*:",
        r"\b(?:you\s+are\s+now|act\s+as|pretend\s+to\s+be|new\s+instructions?|jailbreak|dan\s+mode|developer\s+mode)\b",
        r"<\s*/?\s*(?:leads_data|system|assistant|instructions?)\s*>|<\|im_(?:start|end)\|>|\[/?INST\]",
        r"\b(?:respond|reply|answer|output)\s+(?:only\s+)?with\b[^.\n]{0,30}\b(?:json|qualified|confidence)\b",
    )
]

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
# One alternation each, so the common case (no hit) costs a single scan.
_ANY_INJECTION = re.compile("|".join(f"(?:{p.pattern})" for p in _INJECTION_RES), re.IGNORECASE)
_ANY_NEGATIVE = re.compile("|".join(f"(?:{p.pattern})" for p in _NEGATIVE_RES), re.IGNORECASE)
_NOT_BUYING_INTENTS = frozenset({"spam", "job_seeker", "vendor_pitch"})


def injection_signals(texts: Iterable[str]) -> list[str]:
    """The fragments of `texts` that try to instruct the model; empty when there are none."""
    hits: list[str] = []
    for text in texts:
        if not text:
            continue
        if _ANY_INJECTION.search(text):
            hits += [m.group(0).strip()[:80] for pattern in _INJECTION_RES if (m := pattern.search(text))]
        # the wider screen: polite and indirect requests, other languages, obfuscated text (connectors.llm.screen)
        hits += [fragment for _, fragment in screen(text) if fragment not in hits]
    return hits


def negative_signals(texts: Iterable[str]) -> list[str]:
    """Fragments where the lead says no."""
    return [m.group(0) for text in texts if text and _ANY_NEGATIVE.search(text)
            for p in _NEGATIVE_RES if (m := p.search(text))]


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
