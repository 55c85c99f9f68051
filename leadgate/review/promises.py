"""The promise check: sentences of a clarification email that commit the company to something.

A reviewer's email to a lead must not promise a price, a discount, a date, a scope, a guarantee or
access that sales has not agreed. Each sentence is read NFKC-normalised, case-folded, without
zero-width characters and with letter-spacing joined ("g u a r a n t e e d"), and matched against
patterns per kind in English, German, French, Spanish and Portuguese. Patterns need a commitment
(a value, a date, "will/can/'ll" with a deliverable) so plain questions to the lead pass.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
# Cyrillic and Greek letters that look like Latin ones ("guаranteed" with a Cyrillic а).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕкмтнвАЕОРСУХІЈЅКМТНВοαερτνιΟΑΕΡΤΝΙ", "aeopcyxijskmthbAEOPCYXIJSKMTHBoaeptvioAEPTNI"
)
_LEET = str.maketrans("013457", "oieast")
_MIXED = re.compile(r"\b(?=\w*[a-z]\w*[a-z])(?=\w*[013457])\w+\b")
_SPACED = re.compile(r"\b(?:\w[ .]){3,}\w\b")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+|(?<=;)\s*")

_MODAL = (
    r"(?:will|'ll|can|could|shall|going to|are able to|happy to|able to|would be able to|"
    r"werden|wird|können|kann|pouvons|allons|pourrons|sera|serez|podemos|vamos a|será|podremos|vamos|poderemos)"
)
_DAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|weekend|tomorrow|tonight|"
    r"today|next week|this week|end of (?:the )?(?:day|week|month|quarter|year)|eo[dwmqy]|q[1-4]|"
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|\d{1,2}(?:st|nd|rd|th)?\b|\d{4}-\d{2}-\d{2}|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|morgen|nächste woche|ende (?:der woche|des monats)|"
    r"lundi|mardi|mercredi|jeudi|vendredi|demain|la semaine prochaine|fin (?:de la semaine|du mois)|"
    r"lunes|martes|miércoles|jueves|viernes|mañana|la próxima semana|fin de mes|"
    r"segunda|terça|quarta|quinta|sexta|amanhã|próxima semana)"
)
_UNITS = r"(?:hours?|days?|business days|working days|weeks?|months?|stunden|tagen?|wochen?|jours?|semaines?|días|semanas|dias|horas)"
_DELIVERABLE = (
    r"(?:live|ready|delivered|deliver|shipped|ship|deployed|deploy|installed|install|up and running|launched|"
    r"launch|in production|onboarded|implemented|finished|"
    r"geliefert|liefer\w*|einsatzbereit|fertig|abgeschlossen|livr\w*|prêt|terminé|entreg\w*|listo|terminado|pronto|concluído)"
)

PATTERNS: dict[str, tuple[str, ...]] = {
    "price": (
        r"[$€£¥₹]\s?\d",
        r"\d[\d.,]*\s?(?:k\s)?(?:usd|eur|gbp|chf|dollars?|euros?|pounds?|bucks)\b",
        r"\b(?:price|pricing|cost|fee|rate|preis|prix|precio|preço)s? (?:is|will be|would be|of|at|stays|ist|est|es|é)\b.{0,20}\d",
        r"\bper (?:seat|user|month|year|licen[cs]e)\b.{0,5}$|\d\s?(?:/|per )\s?(?:seat|user|month|mo|year|yr)\b",
        r"\b(?:for free|free of charge|at no (?:extra )?(?:cost|charge)|no (?:extra |additional )?(?:cost|charge|fee)|"
        r"kostenlos|gratis|gratuit(?:ement)?|sin (?:costo|coste)|sem custo|price (?:lock|freeze)|lock in (?:the|your|this) price)\b",
        r"\b(?:it's|it is|is|are|be|stays?|free) (?:free|on us)\b|\bfree (?:for|until|during|through)\b",
        r"\b(?:costs?|priced|pricing (?:starts|is)|starts? at|only|just)\b.{0,15}\d",
        r"\b(?:months?|weeks?|year|seats?) (?:free|on us|at no cost)\b",
    ),
    "discount": (
        r"\d+(?:[.,]\d+)?\s?(?:%|percent|per cent|prozent|pour ?cent|por ?ciento|por ?cento)\s?(?:off|discount|rabatt|"
        r"nachlass|de (?:remise|réduction|descuento|desconto)|reduction|cheaper|less)",
        r"\b(?:discount(?:ed)?|rebate|rabatt|nachlass|remise|réduction|descuento|desconto|half[- ]price|"
        r"price match|money[- ]back|refund)\b",
        r"\b(?:waive|waived|waiving|knock off|take off|comp(?:ed)?)\b.{0,30}\b(?:fee|price|cost|month|setup|bill|invoice)",
        r"\b(?:free|extra|bonus) (?:months?|weeks?|seats?|licen[cs]es?|upgrade|onboarding)\b",
        r"\b(?:better|lower|special|best|reduced|preferential|introductory|partner|founders?'?|loyalty) "
        r"(?:price|pricing|rate|deal|offer|terms)\b|\bhalf (?:off|price)\b|\bmatch\b.{0,30}\b(?:price|pricing|offer)",
        r"\b(?:we|i)(?:'ll| will| can| could)? (?:do|offer|give you|make it|go down to)\b.{0,20}\d+\s?%",
    ),
    "timing": (
        rf"\b(?:by|before|until|no later than|bis|vor|avant|d'ici|antes del?|hasta el|até|para el)\s+(?:the\s+|le\s+|el\s+)?{_DAY}",
        rf"\b(?:within|in|in the next|innerhalb von|in|sous|dans|en|dentro de|em)\s+(?:\d+|a|an|one|two|three|four|"
        rf"a few|a couple of|zwei|drei|deux|trois|dos|tres|duas|três)\s+{_UNITS}",
        rf"\b{_MODAL}\b.{{0,40}}\b{_DELIVERABLE}\b",
        rf"\b{_DELIVERABLE}\b.{{0,20}}\b(?:by|within|on|before)\b",
        r"\b(?:same[- ]day|next[- ]day|overnight|immediately|right away|asap|sofort|immédiatement|de inmediato|imediatamente)\b"
        r".{0,30}\b(?:deliver|ship|set up|install|onboard|access|live|ready)",
        r"\b(?:delivery|go[- ]live|launch|cut[- ]over|rollout|liefertermin|livraison|entrega) (?:date )?(?:is|will be|on|of|am|le|el)\b",
        rf"\beta\b|\btakes?\b.{{0,20}}\b(?:\d+|one|two|three|a few|a couple of)\s+{_UNITS}",
    ),
    "scope": (
        rf"\b(?:we|i|wir|ich|nous|je|nosotros|yo|nós)\b.{{0,10}}\b{_MODAL}\b.{{0,15}}\b(?:build|custom[a-z]*|integrate|"
        r"develop|implement|configure|"
        r"migrate|extend|bauen|entwickeln|intégrer|développer|construir|desarrollar|integrar)\b",
        # "we'll add you to the invite" is no promise; "we'll add that feature" is
        rf"\b(?:we|i)\b.{{0,10}}\b{_MODAL}\b.{{0,10}}\b(?:add|include|support|offer|provide|enable)\b.{{0,30}}"
        r"\b(?:features?|integrations?|modules?|connectors?|functionality|sso|saml|api|seats?|users?|languages?|"
        r"reports?|customi[sz]ations?|white[- ]label|on[- ]prem\w*)\b",
        r"\b(?:unlimited|any feature|all (?:the )?features|every feature|whatever you need|anything you need|fully custom|"
        r"custom (?:feature|integration|development|build)|white[- ]glove|dedicated (?:engineer|team|developer)|"
        r"unbegrenzt|illimité|ilimitad[oa]s?|on (?:the|our) roadmap)\b",
        r"\b(?:includes?|including|included|comes with|inklusive|inclus|incluye|inclui)\b.{0,40}\b(?:at no|free|all|unlimited|"
        r"every|integration|support|onboarding|training|migration)\b",
    ),
    "guarantee": (
        r"\b(?:guarantee[ds]?|guaranteeing|promise[ds]?|warrant(?:y|ies|ed)|assured?|ensure you|certain(?:ly)? (?:will|to))\b",
        r"\b(?:100|99(?:[.,]\d+)?)\s?%\s?(?:uptime|availability|up|sla|accurate|accuracy|success|compliant|secure)",
        r"\b(?:uptime|sla|service level)\b.{0,30}\b(?:\d|guarantee|commit|promise)",
        r"\b(?:risk[- ]free|no risk|zero risk|never (?:go(?:es)? down|lose|fail|break)s?|no downtime|zero downtime)\b",
        r"\bmake sure\b.{0,25}\b(?:works?|meets?|delivers?|ready|live|compliant|never)\b",
        r"\b(?:garant\w*|versprech\w*|zusicher\w*|nous promettons|je vous promets|prometemos|prometo|te aseguro|"
        r"asseguramos)",
    ),
    "access": (
        r"\b(?:admin(?:istrator)?|root|superuser|super user|owner|full|production|prod|api|early|beta|backend|back-end|"
        r"database|db|vip|sandbox|server|console|privileged|unrestricted|source code|internal)\s+(?:access|rights|"
        r"privileges|permissions|account|credentials|login|key|keys|role|password)\b",
        r"\b(?:give|grant|provide|send|set up|create|open)\b.{0,15}\b(?:you|your team|them)\b.{0,20}\b(?:access|an? account|"
        r"a login|credentials|the keys|password|permissions|rights|privileges|roles?)\b",
        r"\blog ?in(?:to)? (?:to )?our\b|\badd (?:you|your team|them)\b.{0,15}\b(?:admins?|owners?|administrators?)\b",
        r"\b(?:access|login|credentials|account|password|keys?) (?:to|for|on) (?:our|the) (?:system|platform|"
        r"environment|servers?|database|backend|admin|production|repo(?:sitory)?|code)",
        r"\b(?:zugang|zugriff|admin-rechte|adminrechte|accès|acceso|acesso|credenciales|identifiants)\b",
    ),
}
_COMPILED = {kind: [re.compile(p, re.IGNORECASE) for p in pats] for kind, pats in PATTERNS.items()}


@dataclass(frozen=True)
class Promise:
    """A flagged sentence: its position in the draft, a stable hash to confirm it by, and what it promises."""

    index: int
    hash: str
    sentence: str
    kinds: tuple[str, ...]

    def kinds_text(self) -> str:
        """The kinds as one word, e.g. 'discount/timing'."""
        return "/".join(self.kinds)


def normalise(text: str) -> str:
    """The text as the check reads it: NFKC, no invisible characters, joined letter-spacing, case-folded."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "")).translate(_LOOKALIKES)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _SPACED.sub(lambda m: re.sub(r"[ .]", "", m.group(0)), text)
    return " ".join(text.split()).casefold()


def _unleet(text: str) -> str:
    """Words that mix letters and digits read as letters ("gu4rant33d"); numbers stay numbers."""
    return _MIXED.sub(lambda m: m.group(0).translate(_LEET), text)


def sentences(text: str) -> list[str]:
    """The draft split into sentences (lines and sentence ends), blanks left out."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def sentence_hash(sentence: str) -> str:
    """What a reviewer confirms a flagged sentence by: unchanged by spacing or case, changed by any edit of words."""
    return hashlib.sha256(normalise(sentence).encode("utf-8")).hexdigest()[:12]


def promise_kinds(sentence: str) -> tuple[str, ...]:
    """Which kinds of promise one sentence makes (empty when none)."""
    text = normalise(sentence)
    readings = (text, _unleet(text))
    return tuple(kind for kind, pats in _COMPILED.items() if any(p.search(t) for p in pats for t in readings))


def find_promises(text: str) -> list[Promise]:
    """Every sentence of `text` that makes a promise, with its index among the draft's sentences."""
    found = []
    for index, sentence in enumerate(sentences(text)):
        kinds = promise_kinds(sentence)
        if kinds:
            found.append(Promise(index, sentence_hash(sentence), sentence, kinds))
    return found


def unconfirmed(text: str, confirmed: Iterable[object]) -> list[Promise]:
    """Flagged sentences not confirmed by hash (or by index, as a string or number)."""
    keys = {str(c).strip() for c in confirmed or ()}
    return [p for p in find_promises(text) if p.hash not in keys and str(p.index) not in keys]
