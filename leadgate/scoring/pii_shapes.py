"""The shapes of personal data `leadgate.scoring.pii.scrub` looks for beyond names and addresses.

Emails in every spelling a person or a form produces (internationalised local parts and IDN
domains, full-width `＠`, "name at domain dot com", "name [at] domain [dot] com"), phone numbers
in international formats, payment card numbers (Luhn-checked), IBANs (mod-97 checked) and common
national identifiers (US SSN, UK NI number, Canadian SIN, French NIR, Spanish DNI/NIE, Italian
codice fiscale, Brazilian CPF, Swedish personnummer, and any number after an ID keyword).

Text is NFKC-normalised and stripped of invisible format characters first (`prepare`): full-width
and compatibility forms become their plain letters and digits, so "ｊａｎｅ＠ａｃｍｅ．ｃｏｍ" is
caught as an email; the words themselves keep their meaning.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

CARD, IBAN, NATIONAL_ID = "[CARD]", "[IBAN]", "[ID]"

# Invisible characters that split a token without changing how it reads (zero-width, bidi, soft hyphen).
_FORMAT_RE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)


def prepare(text: str) -> str:
    """NFKC with invisible format characters removed: the form every detector reads (and the LLM sees)."""
    return _FORMAT_RE.sub("", unicodedata.normalize("NFKC", text))


# --- emails -----------------------------------------------------------------------------------

_DOTS = ".\u3002\uff61"  # IDNA label separators: . 。 ｡ (NFKC already maps ．)
_DELIMS = r"\s@<>()\[\]{}\"',;:|\\"
_LABEL = rf"[^{_DELIMS}/{_DOTS}?!#&=*]+"
_TLD = rf"(?:xn--[a-z0-9\-]+|[^{_DELIMS}/{_DOTS}?!#&=*0-9_\-]{{2,24}})"
# Any local part an EAI address allows (letters of any script), an optional space around @, IDN domains.
EMAIL_RE = re.compile(
    rf"[^{_DELIMS}]+[ \t]?@[ \t]?(?:{_LABEL}[{_DOTS}])+{_TLD}(?![^{_DELIMS}/?!#&=*{_DOTS}])", re.IGNORECASE
)

_DOT_WORDS = r"(?:dot|punto|point|punkt|ponto)"
_AT_WORDS = r"(?:at|arroba|arobase)"
_DOT_SPELLED = rf"(?:\s*[\(\[\{{<]\s*(?:{_DOT_WORDS}|\.)\s*[\)\]\}}>]\s*|\s+{_DOT_WORDS}\s+|\s*-{_DOT_WORDS}-\s*)"
_AT_STRONG = rf"(?:\s*[\(\[\{{<]\s*(?:{_AT_WORDS}|@)\s*[\)\]\}}>]\s*|\s*[-_]{_AT_WORDS}[-_]\s*|\s*@\s*)"
_WORD = r"[\w+\-]+"
_LOCAL = rf"{_WORD}(?:(?:\.|{_DOT_SPELLED}){_WORD})*"
_TLD_WORD = r"[^\W\d_]{2,24}(?!\w)"
# "jane [at] acme [dot] com", "jane(at)acme.com", "jane @ acme . com": the at-sign is unmistakable.
_OBFUSCATED_STRONG_RE = re.compile(
    rf"(?<![\w.+\-]){_LOCAL}{_AT_STRONG}(?:[\w\-]+(?:{_DOT_SPELLED}|\s*[{_DOTS}]\s*))+{_TLD_WORD}", re.IGNORECASE
)
# "jane at acme dot com", "jane at acme.com": the word "at" alone, so common words before it do not count.
_OBFUSCATED_WEAK_RE = re.compile(
    rf"(?<![\w.+\-]){_LOCAL}\s+{_AT_WORDS}\s+(?:[\w\-]+(?:{_DOT_SPELLED}|[{_DOTS}]))+{_TLD_WORD}", re.IGNORECASE
)
_NOT_A_MAILBOX = frozenset(
    [
        "look",
        "looked",
        "looking",
        "looks",
        "be",
        "is",
        "are",
        "am",
        "was",
        "were",
        "been",
        "we",
        "i",
        "you",
        "they",
        "he",
        "she",
        "it",
        "us",
        "me",
        "them",
        "based",
        "work",
        "works",
        "worked",
        "working",
        "here",
        "there",
        "available",
        "meet",
        "meeting",
        "met",
        "see",
        "seen",
        "visit",
        "visiting",
        "stop",
        "sign",
        "signed",
        "up",
        "find",
        "found",
        "live",
        "lives",
        "stay",
        "check",
        "arrive",
        "arrived",
        "currently",
        "now",
        "also",
        "still",
        "and",
        "or",
        "but",
        "the",
        "a",
        "an",
        "our",
        "my",
        "your",
        "only",
        "just",
        "anyone",
        "someone",
        "team",
        "office",
        "job",
        "role",
        "employed",
        "hired",
        "started",
        "start",
        "starting",
        "buy",
        "bought",
        "sell",
        "sold",
        "hosted",
        "host",
        "located",
        "stand",
        "booth",
        "us-based",
        "eu-based",
    ]
)


def _weak_is_email(match: str) -> bool:
    """A bare "at" counts unless the word before it is an everyday word ("look at acme.com", "looked at x dot com")."""
    local = re.split(r"\s+", match.strip(), maxsplit=1)[0].lower()
    return local not in _NOT_A_MAILBOX


_ENCODED_AT_RE = re.compile(r"%40|&#0*64;|&#x0*40;|&commat;", re.IGNORECASE)


def scrub_emails(text: str, placeholder: str, found: Counter) -> str:
    """Every email spelling above becomes `placeholder` (an at-sign written as %40 or &#64; too)."""
    if "%" in text or "&" in text:
        text = _ENCODED_AT_RE.sub("@", text)
    if "@" in text:
        text = substitute(EMAIL_RE, text, placeholder, found)
    lower = text.lower()
    if any(w in lower for w in ("at", "@", "arroba", "arobase")):
        text = substitute(_OBFUSCATED_STRONG_RE, text, placeholder, found)
        text = substitute(_OBFUSCATED_WEAK_RE, text, placeholder, found, accept=_weak_is_email)
    return text


# --- phones -----------------------------------------------------------------------------------

_SEP = r"[\d \t().\-/\u2010-\u2015\u2212\u00b7\u30fb]"
# An optional "(+44)" / "+44" / "0044" prefix, then a run of digits and separators; `pii._is_phone` decides.
PHONE_RE = re.compile(
    rf"(?<![\w+/.\-])(?:\(?(?:\+|00)\s?\d{{1,4}}\)?[ \t.\-/\u2010-\u2015]*)?\(?\d{_SEP}{{4,24}}\d"
    r"(?:\s*(?:ext\.?|x|extension|poste|durchwahl)\s*\d{1,5})?(?![\w/])",
    re.IGNORECASE,
)

# --- cards, IBANs, national ids ---------------------------------------------------------------

_CARD_RE = re.compile(r"(?<![\d\w])\d(?:[ .\-\u2010-\u2015]?\d){12,22}(?![\d\w])")
_IBAN_RE = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){10,32}", re.IGNORECASE)
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}
_SSN_RE = re.compile(r"(?<![\d\w])(?!000|666)\d{3}([ .\-])(?!00)\d{2}\1(?!0000)\d{4}(?![\d\w])")
_NINO_RE = re.compile(
    r"(?<![\w])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)",
    re.IGNORECASE,
)
_SIN_RE = re.compile(r"(?<![\d\w])\d{3}[ \-]\d{3}[ \-]\d{3}(?![\d\w])")
_NIR_RE = re.compile(r"(?<![\d\w])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\d\w])", re.IGNORECASE)
_DNI_RE = re.compile(r"(?<![\w])[XYZ]?\d{7,8}[ \-]?[A-Z](?!\w)", re.IGNORECASE)
_CODICE_RE = re.compile(r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?!\w)", re.IGNORECASE)
_CPF_RE = re.compile(r"(?<![\d\w])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d\w])")
_PERSONNUMMER_RE = re.compile(r"(?<![\d\w])(?:19|20)?\d{6}[\-+]\d{4}(?![\d\w])")
_ID_KEYWORD_RE = re.compile(
    r"\b(?:ssn|itin|social\s+security(?:\s+(?:number|no))?|social\s+insurance\s+number|national\s+insurance(?:\s+(?:number|no))?"
    r"|ni\s+(?:number|no)|nino|passport(?:\s+(?:number|no))?|(?:driver'?s?|driving)\s+licen[cs]e(?:\s+(?:number|no))?"
    r"|tax\s+(?:id|number)|dni|nie|nif|cpf|cnpj|bsn|steuer-?id|steuernummer|personalausweis(?:nummer)?|personnummer"
    r"|codice\s+fiscale|aadhaar|pesel|(?:numero|n°|no)\s+de\s+securite\s+sociale|id\s+(?:number|no)|identity\s+(?:card|number))"
    r"[\s.:#=\-]*(?:is\s+|no\.?\s*|nr\.?\s*)?([A-Z]{0,3}\d[\d .\-/]{2,22}\d[A-Z]?)(?!\w)",
    re.IGNORECASE,
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card_span(match: str) -> tuple[int, int] | None:
    """The longest run of digit groups in `match` that is a Luhn-valid 13-19 digit card number."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", match)]
    best = None
    for i in range(len(groups)):
        for j in range(len(groups), i, -1):
            digits = "".join(match[a:b] for a, b in groups[i:j])
            if 13 <= len(digits) <= 19 and _luhn(digits) and (best is None or len(digits) > best[0]):
                best = (len(digits), groups[i][0], groups[j - 1][1])
                break
    return best[1:] if best else None


def _iban_valid(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    except ValueError:
        return False


def _iban_end(match: str) -> int | None:
    """Where the valid IBAN at the start of `match` ends, or None (its length is known per country)."""
    positions = [i for i, ch in enumerate(match) if ch.isalnum()]
    compact = "".join(match[i] for i in positions).upper()
    lengths = [_IBAN_LENGTHS[compact[:2]]] if compact[:2] in _IBAN_LENGTHS else range(min(34, len(compact)), 14, -1)
    for length in lengths:
        if len(compact) >= length and _iban_valid(compact[:length]):
            return positions[length - 1] + 1
    return None


def _nir_valid(text: str) -> bool:
    compact = re.sub(r"\s", "", text).upper().replace("2A", "19", 1).replace("2B", "18", 1)
    return len(compact) == 15 and 97 - int(compact[:13]) % 97 == int(compact[13:])


def _dni_valid(text: str) -> bool:
    compact = re.sub(r"[\s\-]", "", text).upper()
    number = compact[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return number.isdigit() and "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == compact[-1]


def _cpf_valid(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for n in (9, 10):
        check = sum(int(d) * w for d, w in zip(digits[:n], range(n + 1, 1, -1))) * 10 % 11 % 10
        if check != int(digits[n]):
            return False
    return True


def substitute(
    pattern: re.Pattern[str], text: str, placeholder: str, found: Counter, accept: Callable[[str], bool] | None = None
) -> str:
    def repl(match: re.Match[str]) -> str:
        if accept is not None and not accept(match.group(0)):
            return match.group(0)
        found[placeholder] += 1
        return placeholder

    return pattern.sub(repl, text)


def _sub_span(
    pattern: re.Pattern[str], text: str, placeholder: str, found: Counter, span: Callable[[str], tuple[int, int] | None]
) -> str:
    """Like `_sub`, replacing only the checked part of each match (a card inside a longer digit run)."""

    def repl(match: re.Match[str]) -> str:
        raw = match.group(0)
        hit = span(raw)
        if hit is None:
            return raw
        found[placeholder] += 1
        return raw[: hit[0]] + placeholder + raw[hit[1] :]

    return pattern.sub(repl, text)


def scrub_numbers(text: str, found: Counter) -> str:
    """IBANs, card numbers and national ids become [IBAN], [CARD] and [ID] (before phones see the digits)."""
    text = _sub_span(_IBAN_RE, text, IBAN, found, lambda m: (0, end) if (end := _iban_end(m)) else None)
    text = substitute(_ID_KEYWORD_RE, text, NATIONAL_ID, found)
    text = substitute(_CODICE_RE, text, NATIONAL_ID, found)
    text = substitute(_NINO_RE, text, NATIONAL_ID, found)
    text = substitute(_NIR_RE, text, NATIONAL_ID, found, accept=_nir_valid)
    text = substitute(_DNI_RE, text, NATIONAL_ID, found, accept=_dni_valid)
    text = substitute(_CPF_RE, text, NATIONAL_ID, found, accept=_cpf_valid)
    text = _sub_span(_CARD_RE, text, CARD, found, _card_span)
    text = substitute(_SSN_RE, text, NATIONAL_ID, found)
    text = substitute(_SIN_RE, text, NATIONAL_ID, found, accept=lambda m: _luhn(re.sub(r"\D", "", m)))
    text = substitute(_PERSONNUMMER_RE, text, NATIONAL_ID, found, accept=lambda m: _luhn(re.sub(r"\D", "", m)[-10:]))
    return text
