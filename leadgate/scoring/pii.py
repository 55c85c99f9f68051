"""PII scrubbing: what leaves for an LLM is the business need, never the person.

`scrub` replaces the lead's own name, email and phone (known from the record) and any email
address, phone number, street address, postcode and personal URL found in free text with typed
placeholders. It errs on the side of removing too much: a lost word costs less than a leaked
phone number. `scrub_features` builds the whole LLM-facing view of a lead from a
`marts.lead_features` row: business attributes, behaviour counts and scrubbed free text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadgate.scoring.llm_vocab import (
    channels_value,
    consent_value,
    country_value,
    industry_value,
    seniority_value,
)
from leadgate.scoring.pii_shapes import PHONE_RE, prepare, scrub_emails, scrub_numbers, substitute

EMAIL, PHONE, NAME, ADDRESS, URL = "[EMAIL]", "[PHONE]", "[NAME]", "[ADDRESS]", "[URL]"


@dataclass(frozen=True)
class KnownPII:
    """What the record already tells us about the person."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_domain: str | None = None  # the company's own site is business data, kept


@dataclass(frozen=True)
class ScrubResult:
    text: str
    found: dict[str, int] = field(default_factory=dict)  # placeholder -> replacements

    @property
    def changed(self) -> bool:
        return bool(self.found)


# --- patterns ---------------------------------------------------------------------------------

_PHONE_RE = PHONE_RE  # international formats: leadgate.scoring.pii_shapes
_DATE_RE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(?:19|20)\d\d\s*[-/]\s*(?:19|20)?\d\d)$"
)
_IP_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:[ .]\d{3})+$")

_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Square|Sq|"
    r"Terrace|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Close|Crescent|Row|Mews|Gardens|Grove|Plaza)"
)
_UNIT = r"(?:,?\s+(?:Suite|Ste|Apt|Apartment|Unit|Floor|Fl|Room|#)\.?\s*#?\w+)?"
_US_TAIL = r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})?(?:,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_ADDRESS_RES = [
    # 221B Baker Street, Suite 4, Springfield, IL 62704 / 1600 Pennsylvania Avenue NW
    re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?,?\s+(?:[A-Z0-9][\w'.\-]*\s+){{1,4}}{_SUFFIX}\b\.?"
        rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?{_UNIT}{_US_TAIL}(?:,?\s+{_UK_POSTCODE}\b)?"
    ),
    # Hauptstraße 5a, 10115 Berlin
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß.\-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ring)\s+\d{1,4}[a-z]?\b"
        r"(?:,\s*\d{5}\s+[A-ZÄÖÜ][\wäöüß\-]+)?"
    ),
    # 12 rue de la Paix, 75002 Paris
    re.compile(
        r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|quai|impasse|via|calle)"
        r"\s+[^,\n.;:!?]{2,40}(?:,\s*\d{4,5}\s+[A-ZÀ-Ý][\wÀ-ÿ\-]+)?",
        re.IGNORECASE,
    ),
    re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE),
    re.compile(rf"\b{_UK_POSTCODE}\b"),
    re.compile(r"(?<=,\s)[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"),  # ", CA 94105"
]

_URL_RE = re.compile(
    r"\b(?:https?://)?(?:www\.)?(?:[a-z0-9\-]+\.)+[a-z]{2,24}(?::\d+)?(?:/[^\s<>\"'\])]*)?",
    re.IGNORECASE,
)
_HAS_DOMAIN_RE = re.compile(r"[a-z0-9]\.[a-z]{2}", re.IGNORECASE)
_SOCIAL_HOSTS = (
    "twitter.com",
    "x.com",
    "facebook.com",
    "fb.com",
    "instagram.com",
    "github.com",
    "gitlab.com",
    "medium.com",
    "tiktok.com",
    "threads.net",
    "bsky.app",
    "mastodon.social",
    "about.me",
    "linktr.ee",
    "calendly.com",
    "xing.com",
    "youtube.com",
    "substack.com",
)
_PERSONAL_TLDS = (".me", ".name")
_URL_TRAILING = ".,;:!?)]}'\""

# First/last names that are also everyday words are matched only when capitalised.
_COMMON_WORDS = frozenset(
    [
        "will",
        "may",
        "mark",
        "grant",
        "rose",
        "bill",
        "hope",
        "joy",
        "april",
        "june",
        "summer",
        "dawn",
        "faith",
        "chase",
        "hunter",
        "case",
        "price",
        "long",
        "white",
        "black",
        "brown",
        "green",
        "young",
        "king",
        "cook",
        "bell",
        "wood",
        "hill",
        "lane",
        "ward",
        "bond",
        "page",
        "rich",
        "sky",
        "art",
        "guy",
        "jack",
        "frank",
        "sue",
        "max",
        "sterling",
        "march",
        "august",
        "love",
        "gray",
        "grey",
        "fox",
        "ray",
        "best",
        "hall",
        "little",
        "moore",
    ]
)


_WORD_RE = re.compile(r"\w+(?:['’\-‐]\w+)*")
_POSSESSIVE = ("'s", "’s")
_MERGE_NAMES_RE = re.compile(r"\[NAME\](?:[ \t\-‐]+\[NAME\])+")


def _fold(text: str) -> str:
    """Lower case without accents: "Núñez" and "NUNEZ" fold alike."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().replace("’", "'")


def _name_tokens(first: str | None, last: str | None) -> set[str]:
    tokens: set[str] = set()
    for part in (first, last):
        folded = _fold((part or "").strip())
        if len(folded) >= 2:
            tokens.add(folded)
            tokens.update(t for t in re.split(r"[\s\-‐]+", folded) if len(t) >= 2)
    return tokens


def _scrub_names(text: str, known: KnownPII, found: Counter) -> str:
    """Replace the known first and last names word by word (accent- and case-insensitive).

    Words are compared, not patterns compiled per lead: that keeps 10,000 distinct names cheap.
    Names that are everyday words ("Will", "Price") are replaced only when capitalised.
    """
    tokens = _name_tokens(known.first_name, known.last_name)
    folded_text = _fold(text)
    if not tokens or not any(t in folded_text for t in tokens):
        return text

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        suffix = next((p for p in _POSSESSIVE if word.endswith(p)), "")
        base = word[: len(word) - len(suffix)] if suffix else word
        folded = _fold(base)
        if folded not in tokens:
            return word
        if folded in _COMMON_WORDS and not (base[:1].isupper() and (base[1:].islower() or base.isupper())):
            return word
        found[NAME] += 1
        return NAME + suffix

    return _MERGE_NAMES_RE.sub(NAME, _WORD_RE.sub(repl, text))


def _replace_literal(text: str, literal: str, placeholder: str, found: Counter) -> str:
    """Case-insensitive replacement of a known value, without compiling a pattern per lead."""
    lower, needle = text.lower(), literal.lower()
    if len(lower) != len(text) or needle not in lower:
        return text if needle not in lower else re.sub(re.escape(literal), placeholder, text, flags=re.IGNORECASE)
    parts, start = [], 0
    while (hit := lower.find(needle, start)) != -1:
        parts.append(text[start:hit] + placeholder)
        found[placeholder] += 1
        start = hit + len(needle)
    return "".join(parts) + text[start:]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _is_phone(candidate: str, known_digits: str) -> bool:
    core = re.sub(r"\s*(?:ext\.?|x|extension|poste|durchwahl)\s*\d{1,5}$", "", candidate.strip(), flags=re.IGNORECASE)
    digits = _digits(core)
    if len(known_digits) >= 7 and len(digits) >= 7 and digits[-7:] == known_digits[-7:]:
        return True
    international = core.lstrip("(").startswith(("+", "00"))
    e164 = digits[2:] if core.lstrip("(").startswith("00") else digits  # "00" dials out; it is not the number
    if not 7 <= len(e164) <= (16 if international else 15):  # E.164's 15, plus a written trunk "(0)"
        return False
    # An amount never starts with 0: "001 000 000 123" is a number dialled, "1 000 000" is money.
    amount = _THOUSANDS_RE.match(core) and not core.startswith("0")
    if _DATE_RE.match(core) or _IP_RE.match(core) or amount:
        return False
    if international:
        return len(digits) >= 8
    has_separator = bool(re.search(r"[\s().\-/]", core))
    if not has_separator:
        return len(digits) >= 10  # an unformatted 10+ digit run; shorter plain numbers are amounts
    return True


def _host_and_path(url: str) -> tuple[str, str]:
    bare = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host, _, path = bare.partition("/")
    return host.lower().split(":")[0], path.lower()


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _is_personal_url(url: str, known: KnownPII) -> bool:
    host, path = _host_and_path(url)
    if host.endswith("linkedin.com"):
        return path.startswith(("in/", "pub/"))
    if any(host == h or host.endswith("." + h) for h in _SOCIAL_HOSTS):
        return bool(path.strip("/"))
    if host.endswith(_PERSONAL_TLDS):
        return True
    names = [_alnum(n) for n in (known.first_name, known.last_name) if n and len(_alnum(n)) >= 3]
    company = (known.company_domain or "").lower().removeprefix("www.")
    if names and any(n in _alnum(path) for n in names):
        return True  # acme.com/team/jane-doe: a person's page on a company site
    if names and any(n in _alnum(host) for n in names):
        return not (company and (host == company or host.endswith("." + company)))
    return False


# --- public -----------------------------------------------------------------------------------


def scrub(text: str | None, known: KnownPII | None = None) -> ScrubResult:
    """Replace personal data in `text` with typed placeholders ([EMAIL], [PHONE], [NAME], [ADDRESS], [URL])."""
    if not text:
        return ScrubResult(text or "")
    known = known or KnownPII()
    found: Counter = Counter()
    # NFKC and no invisible characters: full-width or zero-width-split data is caught like plain data.
    out = prepare(str(text))
    if known.email and known.email.strip():
        out = _replace_literal(out, prepare(known.email.strip()), EMAIL, found)
    # Cheap pre-checks inside skip patterns that cannot match: most lead messages hold no contact data.
    out = scrub_emails(out, EMAIL, found)

    def url_repl(match: re.Match[str]) -> str:
        raw = match.group(0)
        url = raw.rstrip(_URL_TRAILING)
        if not _is_personal_url(url, known):
            return raw
        found[URL] += 1
        return URL + raw[len(url) :]

    if _HAS_DOMAIN_RE.search(out):
        out = _URL_RE.sub(url_repl, out)
    if any(ch.isdigit() for ch in out):
        out = scrub_numbers(out, found)
        known_digits = _digits(known.phone or "")
        out = substitute(_PHONE_RE, out, PHONE, found, accept=lambda s: _is_phone(s, known_digits))
        for pattern in _ADDRESS_RES:
            out = substitute(pattern, out, ADDRESS, found)
    out = _scrub_names(out, known, found)
    return ScrubResult(out, dict(found))


def known_pii(row: Mapping[str, Any]) -> KnownPII:
    """The person's identifiers from a lead_features row."""
    return KnownPII(
        first_name=_text(row.get("first_name")),
        last_name=_text(row.get("last_name")),
        email=_text(row.get("email")),
        phone=_text(row.get("phone")),
        company_domain=_text(row.get("company_domain")),
    )


BEHAVIOUR_COLUMNS = (
    "event_count",
    "page_views",
    "pricing_views",
    "demo_requests",
    "content_downloads",
    "form_submits",
    "email_replies",
    "email_opens",
    "meeting_requests",
    "chat_messages",
    "events_7d",
    "events_30d",
    "buying_centre_size",
)
SIZE_BANDS = ((5000, "5000+"), (1000, "1000-4999"), (200, "200-999"), (51, "51-199"), (11, "11-50"), (1, "1-10"))


def company_size_band(size_min: Any) -> str:
    """A coarse employee band from the lower bound: business data without the exact figure."""
    value = _number(size_min)
    if value is None:
        return "unknown"
    return next((label for floor, label in SIZE_BANDS if value >= floor), "unknown")


def scrub_features(row: Mapping[str, Any], messages: Sequence[str] | None = None) -> dict[str, Any]:
    """The LLM-facing view of a lead: business attributes, behaviour, recency, consent, scrubbed text.

    Never the name, email, phone, job title or lead id. `messages` (recent free text, newest
    first) defaults to the row's `latest_message`.
    """
    known = known_pii(row)
    texts = list(messages) if messages is not None else [row.get("latest_message")]
    first, last = _timestamp(row.get("first_touch_at")), _timestamp(row.get("last_touch_at"))
    company = _text(row.get("company"))
    return {
        # Categorical fields leave only as vocabulary values (leadgate.scoring.llm_vocab), never as typed text.
        "seniority": seniority_value(_text(row.get("seniority"))),
        # A sole trader's company can carry the person's name: scrub it like free text.
        "company": scrub(company, known).text if company else None,
        "company_size_band": company_size_band(row.get("company_size_min")),
        "industry": industry_value(_text(row.get("industry"))),
        "country": country_value(_text(row.get("country"))),
        "is_target_account": bool(row.get("is_target_account")) if _present(row.get("is_target_account")) else False,
        "consent_status": consent_value(_text(row.get("consent_status"))),
        "behaviour": {c: int(_number(row.get(c)) or 0) for c in BEHAVIOUR_COLUMNS},
        "recency": {
            "active_span_days": max(0, (last - first).days) if first and last else None,
            "longest_gap_days": _int_or_none(row.get("longest_gap_days")),
            "was_dormant_reactivated": bool(row.get("was_dormant_reactivated"))
            if _present(row.get("was_dormant_reactivated"))
            else False,
        },
        "channels": channels_value(_text(row.get("sources"))),
        "messages": [scrub(t, known).text for t in texts if _text(t)],
    }


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not (isinstance(value, float) and math.isnan(value)) and str(value) not in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return True


def _text(value: Any) -> str | None:
    if not _present(value):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    if not _present(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _timestamp(value: Any) -> datetime | None:
    if not _present(value):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
