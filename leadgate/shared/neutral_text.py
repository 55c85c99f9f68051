"""Lead-provided text made inert where it is displayed: the reviewer's terminal, and CRM fields.

Terminal: `terminal_safe` removes every escape sequence (CSI, OSC such as OSC 8 links and OSC 52
clipboard writes, DCS/APC/PM/SOS strings, 8-bit C1 forms), C0/C1 control characters except the
newline, and bidi overrides; `one_line` also folds line breaks, for table cells. Every renderer of
lead text (`review list/show`, `sync --preview`, `status`, the run summary, the CLI's error line)
passes its output through them.

CRM: `crm_text` neutralises a value for a CRM text field the way OWASP's CSV-injection guidance says
(a leading `= + - @`, also in full-width or other compatibility forms, after any whitespace, tab,
CR or invisible character, which is removed, gets a single quote in front), strips HTML tags, and
removes NUL, other control characters and bidi controls; it returns what it changed, which the sync
records as field issues. A phone number keeps its leading `+`; identifiers (email, domain, lead id)
are never rewritten, as the CRM matches records by them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_STRING_END = r"(?:\x07|\x1b\\|\x9c)"
# Order matters: whole sequences first, then lone introducers and single control characters.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI (colours, cursor moves, clear screen)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    rf"|[\x1b][\]PX^_][^\x07\x1b\x9c\n]*{_STRING_END}?"  # OSC (8: links, 52: clipboard), DCS, SOS, PM, APC
    rf"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c\n]*{_STRING_END}?"  # their 8-bit forms
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (ESC c resets the terminal)
)
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_C0C1 = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")  # tab and newline are not in it
_BIDI = re.compile("[" + BIDI_CONTROLS + "]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff" + BIDI_CONTROLS + "]")


def terminal_safe(text: Any) -> str:
    """`text` with no escape sequence, control character (newline kept) or bidi control left."""
    text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n").replace("\t", " ")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: Any) -> str:
    """`terminal_safe` on one line: runs of whitespace, line breaks included, become one space."""
    return " ".join(terminal_safe(text).split())


def indented(text: Any, prefix: str) -> str:
    """A multi-line value shown under a label: every line safe and indented, so none poses as output."""
    lines = terminal_safe(text).splitlines() or [""]
    return "\n".join(prefix + line for line in lines)


# ---------------------------------------------------------------------- CRM text fields

FORMULA_TRIGGERS = "=+-@\uff1d\uff0b\uff0d\uff20"  # with their full-width forms
# Unicode's Default_Ignorable_Code_Point set (zero-width, soft hyphen, word joiner, fillers, variation
# selectors, tags): invisible, so at the start of a value they hide a formula trigger ("\u200b=1").
_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_LEADING_INVISIBLE = re.compile(rf"^[\s{_IGNORABLE}]+")
IDENTIFIER_FIELDS = frozenset({"lead_id", "email", "company_domain"})
PHONE_FIELDS = frozenset({"phone"})
MULTILINE_FIELDS = frozenset({"top_reasons", "reviewer_summary"})
# An HTML tag, comment or doctype; a lone "<" before a space or digit ("a < b", "<5 seats") is text.
_HTML = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", re.DOTALL | re.IGNORECASE)
# What is left of an unclosed tag ("<img src=x onerror=..."): only its "<" goes, the rest is inert text.
_TAG_START = re.compile(r"<(?=[/!?]?[A-Za-z])")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]*(?:\s*(?:ext\.?|x|#)\s*[0-9]+)?", re.IGNORECASE)

PROBLEM_CONTROL = "control characters or escape sequences removed (NUL, ESC, C1)"
PROBLEM_LINE_BREAK = "line breaks replaced by spaces"
PROBLEM_BIDI = "bidi control characters removed (they can reverse how the value reads)"
PROBLEM_HTML = "HTML tags removed"
PROBLEM_INVISIBLE = "invisible characters (zero-width, soft hyphen, fillers) removed from its start"
PROBLEM_FORMULA = "starts with {char!r}: prefixed with a single quote so spreadsheets do not run it as a formula"
PROBLEM_IDENTIFIER = "starts with {char!r}: kept unchanged, as the CRM matches records by it"


def _is_phone(text: str) -> bool:
    return bool(_PHONE.fullmatch(text)) and sum(c.isdigit() for c in text) >= 5


def _is_trigger(char: str) -> bool:
    # Compatibility forms count as their plain character: full-width '＝', small '﹦', superscript '⁺'.
    return char in FORMULA_TRIGGERS or unicodedata.normalize("NFKC", char)[:1] in FORMULA_TRIGGERS


def crm_text(field: str, value: str | None) -> tuple[str | None, list[str]]:
    """(`value` made inert for the CRM text field `field`, the problems found); None stays None."""
    if value is None:
        return None, []
    problems: list[str] = []
    text = _ESCAPES.sub("", value)
    had_controls = text != value or bool(_C0C1.search(text))
    text = _C0C1.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    if had_controls:
        problems.append(PROBLEM_CONTROL)
    if field not in MULTILINE_FIELDS and "\n" in text.strip():
        problems.append(PROBLEM_LINE_BREAK)  # a line break inside a one-line value splits exported rows
    if field not in MULTILINE_FIELDS:
        text = text.replace("\n", " ")
    without_bidi = _BIDI.sub("", text)
    if without_bidi != text:
        problems.append(PROBLEM_BIDI)
        text = without_bidi
    if field not in IDENTIFIER_FIELDS:
        stripped = _TAG_START.sub("", _HTML.sub("", text))
        if stripped != text:
            problems.append(PROBLEM_HTML)
            text = stripped
    text, trimmed = text.strip(), _LEADING_INVISIBLE.sub("", text.strip())
    if trimmed != text and field not in IDENTIFIER_FIELDS:
        problems.append(PROBLEM_INVISIBLE)
        text = trimmed
    if text and _is_trigger(text[0]):
        if field in IDENTIFIER_FIELDS:
            problems.append(PROBLEM_IDENTIFIER.format(char=text[0]))
        elif not (field in PHONE_FIELDS and text[0] == "+" and _is_phone(text)):
            problems.append(PROBLEM_FORMULA.format(char=text[0]))
            text = "'" + text
    return text or None, problems
