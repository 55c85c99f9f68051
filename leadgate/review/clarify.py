"""Clarification drafts: an email for the lead from a template, or by the LLM when one is configured.

leadgate never sends it: the reviewer edits it, the promise check flags commitments in it, and the
text is stored with the clarify decision (`review.clarifications`). The model sees only the scrubbed
view of the lead (leadgate/scoring/pii.py) plus the reasons for review and the reviewer's question; its
placeholders ([NAME], [REVIEWER]) are filled in here, locally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from leadgate.policy import Policy
from leadgate.review.promises import Promise, find_promises
from leadgate.shared.prompt import Prompt

log = logging.getLogger("leadgate.review.clarify")
PROMPT_VERSION = "clarify_v1"
# Asks the model for a draft: (prompt, scrubbed lead view) -> text. Built at the edge from OPENAI_* settings.
Drafter = Callable[[Prompt, dict[str, Any]], str]


@dataclass(frozen=True)
class Draft:
    """A clarification email ready for the reviewer: its text, where it came from, the promises it makes."""

    text: str
    source: str  # template | llm
    promises: list[Promise] = field(default_factory=list)
    note: str | None = None  # e.g. why the model's draft was not used


def _template_text(policy: Policy) -> str:
    configured = policy.review.clarify_template
    if configured:
        try:
            return Path(configured).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"clarification template {configured} cannot be read: {exc.strerror}") from None
    return resources.files("leadgate.review").joinpath("templates/clarify.txt").read_text(encoding="utf-8")


def load_prompt() -> Prompt:
    """The versioned drafting prompt (leadgate/review/templates/clarify_v1.md)."""
    text = resources.files("leadgate.review").joinpath(f"templates/{PROMPT_VERSION}.md").read_text(encoding="utf-8")
    header, body = text[4:].split("\n---\n", 1)
    meta = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in header.splitlines() if ":" in line)}
    return Prompt(name=meta.get("name", "clarification email"), version=PROMPT_VERSION, system=body.strip())


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def from_template(policy: Policy, item: dict[str, Any], reviewer: str, question: str | None = None) -> str:
    """The policy's template (or the bundled one) filled with the lead's first name, company and the question."""
    first = (item.get("first_name") or (item.get("full_name") or "").split(" ")[0] or "there").strip()
    company = (item.get("company") or "").strip()
    values = _Blank(
        first_name=first,
        company=company,
        reviewer=reviewer,
        about_company=f" about {company}" if company else "",
        question=(question or "").strip() or default_question(item.get("reason_codes") or []),
    )
    return _template_text(policy).format_map(values).strip()


QUESTIONS = {
    "missing_company": "Which company are you with, and roughly how many people work there?",
    "crm_fields_missing": "Which company are you with, and what is your role there?",
    "ambiguous_fit": "Which team would use the product, and what would you like it to help with?",
    "low_confidence": "What are you hoping to solve, and who else is involved in choosing a solution?",
}


def default_question(reason_codes: list[str]) -> str:
    """A question that fits why the item is in review."""
    for code in reason_codes:
        if code in QUESTIONS:
            return QUESTIONS[code]
    return "Could you tell us a little more about what you are looking for and which team it is for?"


def lead_view(features: dict[str, Any] | None, item: dict[str, Any], question: str | None) -> dict[str, Any]:
    """What the model may see: the scrubbed features, the reasons for review, the question (scrubbed too)."""
    from leadgate.scoring.pii import known_pii, scrub, scrub_features

    row = dict(features or {})
    row.setdefault("latest_message", item.get("latest_message"))
    known = known_pii(row or {"email": item.get("email")})
    return {
        "lead": scrub_features(row),
        "why_review": list(item.get("reason_codes") or []),
        "questions": [scrub(question, known).text] if question and question.strip() else [],
    }


def draft(
    policy: Policy,
    item: dict[str, Any],
    reviewer: str,
    *,
    question: str | None = None,
    features: dict[str, Any] | None = None,
    drafter: Drafter | None = None,
) -> Draft:
    """A draft for this review item: by the model when `drafter` is given (template if it fails), else the template."""
    note = None
    if drafter is not None:
        try:
            text = drafter(load_prompt(), lead_view(features, item, question)).strip()
        except Exception as exc:  # an unreachable model must not block the reviewer: the template stands in
            text, note = "", f"the model could not draft ({type(exc).__name__}); the template is shown instead"
            log.warning("clarification draft: %s", note)
        if text:
            first = (item.get("first_name") or (item.get("full_name") or "").split(" ")[0] or "").strip()
            text = text.replace("[NAME]", first or "there").replace("[REVIEWER]", reviewer)
            return Draft(text, "llm", find_promises(text))
        note = note or "the model returned no draft; the template is shown instead"
    text = from_template(policy, item, reviewer, question)
    return Draft(text, "template", find_promises(text), note)


def llm_drafter(endpoint: Any, llm: Any) -> Drafter:
    """A Drafter over the OpenAI-compatible endpoint (settings built by the caller: OPENAI_*, LEADGATE_LLM_*)."""
    from connectors.llm.drafts import draft_email

    return lambda prompt, view: draft_email(endpoint, llm, prompt, view)
