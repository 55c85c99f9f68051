"""Clarification drafts and the promise check: hostile commitments are flagged and must be confirmed or removed."""

from __future__ import annotations

import json

import pytest

from connectors.llm.settings import LlmSettings, OpenAISettings
from leadgate.review import clarify
from leadgate.review.errors import PromisesUnconfirmed, ReviewError
from leadgate.review.promises import find_promises, promise_kinds, unconfirmed
from tests.emulators.openai_server import OpenAIEmulator
from tests.review.conftest import DAN, one, state_of

PROMISES = [
    ("we can do 20% off", "discount"),
    ("it will be live by Friday", "timing"),
    ("guaranteed uptime", "guarantee"),
    ("I'll give you admin access", "access"),
    ("I’ll knock 15 percent off the list price", "discount"),
    ("The price is $49 per seat.", "price"),
    ("It's free for the first 3 months.", "price"),
    ("We'll waive the setup fee.", "discount"),
    ("You'll be up and running within 2 weeks.", "timing"),
    ("Delivery on 12 December.", "timing"),
    ("We will build the Salesforce integration for you.", "scope"),
    ("Unlimited users are included.", "scope"),
    ("99.9% uptime SLA", "guarantee"),
    ("g u a r a n t e e d results", "guarantee"),
    ("guaran\u200bteed results", "guarantee"),
    ("You get full access to the platform.", "access"),
    ("I'll send you credentials to our production environment.", "access"),
    ("Wir garantieren eine Verfügbarkeit von 99,9 %.", "guarantee"),
    ("Wir können bis Freitag liefern.", "timing"),
    ("Nous pouvons vous offrir 15 % de remise.", "discount"),
    ("Podemos entregarlo el viernes.", "timing"),
    ("Vamos a darte un 20% de descuento.", "discount"),
    ("Te damos acceso de administrador.", "access"),
    ("Ｗｅ ｃａｎ ｄｏ ２０％ ｏｆｆ", "discount"),
    ("gu4rant33d uptime", "guarantee"),
    ("guаranteed uptime", "guarantee"),
    ("I can get you a better price", "discount"),
    ("It only costs 10 a month", "price"),
    ("First month free", "price"),
    ("Setup takes just two days", "timing"),
    ("You will never lose data", "guarantee"),
    ("I'll grant your team owner rights", "access"),
    ("Here is the root password", "access"),
    ("Nous garantissons la disponibilité", "guarantee"),
    ("Le déploiement sera terminé vendredi", "timing"),
    ("Wir können das Feature entwickeln", "scope"),
    ("We can include SSO for all users", "scope"),
]
QUESTIONS = [
    "Which team is evaluating?",
    "Could you tell us a bit more about your timeline?",
    "What is your budget?",
    "When would you like to start?",
    "Is Umbrella the parent company or the retail arm?",
    "Kind regards,",
    "How many people would use it?",
    "Do you need it by a specific date?",
    "Who else is involved in the decision?",
    "Would a short call on Tuesday work for you?",
    "Do you have a budget approved for 2027?",
    "Which CRM do you use today?",
    "We will set up a call with you.",
    "I will be available on Tuesday.",
    "We'll add you to the invite.",
    "We will include your colleagues in the call.",
]


@pytest.mark.parametrize("sentence,kind", PROMISES)
def test_each_kind_of_promise_is_flagged(sentence, kind):
    assert kind in promise_kinds(sentence)


def test_questions_to_the_lead_are_not_promises():
    assert [q for q in QUESTIONS if promise_kinds(q)] == []


def test_a_promise_is_confirmed_by_its_hash_or_removed():
    draft = "Hi Dan,\nThanks for reaching out. We can do 20% off. Which team is evaluating?\nIt will be live by Friday."
    flags = find_promises(draft)
    assert [(f.index, f.kinds) for f in flags] == [(2, ("discount",)), (4, ("timing",))]
    assert unconfirmed(draft, [flags[0].hash]) == [flags[1]]
    assert unconfirmed(draft, [flags[0].hash, flags[1].hash]) == []
    # The reviewer's edit of a confirmed sentence is a new sentence: it must be confirmed again.
    edited = draft.replace("20% off", "30% off")
    assert [f.sentence for f in unconfirmed(edited, [flags[0].hash, flags[1].hash])] == ["We can do 30% off."]
    assert unconfirmed(draft.replace("We can do 20% off. ", "").replace("It will be live by Friday.", ""), []) == []


def test_the_template_draft_asks_and_promises_nothing(seeded):
    _settings, service, ids, items = seeded
    draft = service.draft_clarification(items[ids[DAN]], "dana", question="Which team is evaluating?")
    assert draft.source == "template" and draft.promises == []
    assert (
        draft.text.startswith("Hi Dan,") and "Which team is evaluating?" in draft.text and draft.text.endswith("dana")
    )


def test_an_llm_draft_sees_scrubbed_input_and_its_promises_must_be_confirmed(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    answer = "Hi [NAME], thanks for asking. We can do 20% off this month. Which team is evaluating? Best, [REVIEWER]"
    with OpenAIEmulator(draft=lambda leads: answer) as emu:
        drafter = clarify.llm_drafter(
            OpenAISettings(base_url=emu.base_url, api_key="k", _env_file=None), LlmSettings(_env_file=None)
        )
        draft = service.draft_clarification(
            item_id, "dana", question="Call me on +1 555 0100 or dan@umbrella.com?", drafter=drafter
        )
        sent = emu.requests[0].raw
    assert "dan@umbrella.com" not in sent and "555 0100" not in sent and "Brown" not in sent and '"Dan' not in sent
    assert json.loads(sent)["messages"][0]["content"] == clarify.load_prompt().system
    assert draft.source == "llm" and draft.text.startswith("Hi Dan,") and draft.text.endswith("Best, dana")
    assert [p.kinds for p in draft.promises] == [("discount",)]
    with pytest.raises(
        PromisesUnconfirmed, match=r"makes 1 promise\(s\) nobody confirmed: #1 discount \([0-9a-f]{12}\)"
    ):
        service.clarify(item_id, "dana", draft=draft.text, question="Which team?")
    assert state_of(settings, ids[DAN]) == "needs_review"
    service.clarify(
        item_id,
        "dana",
        draft=draft.text,
        question="Which team?",
        confirmed=[draft.promises[0].hash],
        draft_source=draft.source,
    )
    stored = one(
        settings, "select draft, source, flagged, reviewer from review.clarifications where item_id = ?", [item_id]
    )
    assert stored[0][0] == draft.text and stored[0][1:2] == ("llm",) and stored[0][3] == "dana"
    assert [f["hash"] for f in json.loads(stored[0][2])] == [draft.promises[0].hash]
    assert state_of(settings, ids[DAN]) == "clarification_requested"


def test_an_unreachable_model_falls_back_to_the_template(seeded):
    _settings, service, ids, items = seeded
    drafter = clarify.llm_drafter(
        OpenAISettings(base_url="http://127.0.0.1:9/v1", api_key="k", _env_file=None),
        LlmSettings(_env_file=None, timeout=2, max_retries=0),
    )
    draft = service.draft_clarification(items[ids[DAN]], "dana", drafter=drafter)
    assert draft.source == "template" and "could not draft" in draft.note and draft.text.startswith("Hi Dan,")
    with pytest.raises(ReviewError, match="a question is required"):
        service.clarify(items[ids[DAN]], "dana", question=" ", draft=" ")
    # A question that promises something is checked like a draft.
    with pytest.raises(PromisesUnconfirmed, match="guarantee"):
        service.clarify(items[ids[DAN]], "dana", question="Would a guaranteed go-live by Monday help?")
