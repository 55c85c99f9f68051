"""The injection screen: does a lead's text try to instruct the scoring model? (pure functions)

It is a screen, not the defence: a flagged lead is scored alone and sent to review, but the scorer
never relies on it to keep leads apart (see `LlmScorer`: a batched answer that would promote a lead
is always asked again with that lead alone). The screen reads a folded copy of the text (NFKC, no
zero-width or bidi characters, accents and look-alike letters folded to Latin, letter-spacing and
leetspeak undone) and looks for: overrides of the rules ("ignore previous instructions"), role and
chat-template markers, text addressed to the machine ("note to the AI"), and requests, polite or
indirect, in English, Spanish, French, German or Portuguese, that this lead, the author's team or
all leads be marked, rated, scored or qualified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
# Cyrillic, Greek and other letters that look Latin (after casefold), for the screen only.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "п": "n",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ı": "i",
        "ɑ": "a",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        "օ": "o",
        "ս": "u",
        "ℓ": "l",
        "‘": "'",
        "’": "'",
        "`": "'",
        "“": '"',
        "”": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "ß": "ss",
    }
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_MIXED_TOKEN = re.compile(r"\b(?=[\w@$!]*[a-z])(?=[\w@$!]*[0-9@$!])[\w@$!]+")
_SPACED_LETTERS = re.compile(r"\b(?:[a-z][ .\-*_|/]){1,}[a-z]\b")
_INNER_MARKS = re.compile(r"(?<=[a-z])[.*_|](?=[a-z])")


def _letters(text: str) -> str:
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.translate(_CONFUSABLES)


def _spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    """The screen's view of `text`: NFKC, no invisible characters, no accents, look-alikes folded, one space."""
    return _spaces(_letters(text))


def _variants(text: str) -> list[str]:
    """The folded text, plus it with "m a r k  m e" / "q.u.a.l.i.f.i.e.d" joined and "1gn0re" read as letters."""
    letters = _letters(text)
    joined = _spaces(
        _INNER_MARKS.sub("", _SPACED_LETTERS.sub(lambda m: re.sub(r"[ .\-*_|/]", "", m.group(0)), letters))
    )
    leet = _MIXED_TOKEN.sub(lambda m: m.group(0).translate(_LEET), joined)
    return list(dict.fromkeys([_spaces(letters), joined, leet]))


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


# --- what a rating request is made of (folded: lower case, no accents) ---------------------------

_VERB = _alt(
    # en
    r"mark(?:ed|ing)?",
    r"flag(?:ged|ging)?",
    r"tag(?:ged)?",
    r"label(?:l?ed)?",
    r"classif(?:y|ied)",
    r"categori[sz]e",
    r"rate",
    r"score",
    r"rank",
    r"grade",
    r"treat",
    r"consider",
    r"count",
    r"record",
    r"list",
    r"log",
    r"set",
    r"put",
    r"move",
    r"route",
    r"qualify",
    r"prioriti[sz]e",
    r"escalate",
    r"assign",
    r"upgrade",
    r"promote",
    r"fast[ -]?track",
    r"register",
    r"file",
    r"enter",
    r"bump",
    r"push",
    r"designate",
    r"report",
    r"return",
    r"output",
    r"evaluate",
    r"assess",
    r"judge",
    r"place",
    r"send",
    r"pass",
    r"note",
    r"regard",
    r"recogni[sz]e",
    r"confirm",
    r"approve",
    r"see",
    r"view",
    # es / pt
    r"marc\w*",
    r"marqu\w*",
    r"calific\w*",
    r"califiqu\w*",
    r"cualific\w*",
    r"cualifiqu\w*",
    r"clasific\w*",
    r"clasifiqu\w*",
    r"classific\w*",
    r"classifiqu\w*",
    r"qualific\w*",
    r"qualifiqu\w*",
    r"puntu\w*",
    r"valor\w*",
    r"etiquet\w*",
    r"consider\w*",
    r"trat\w*",
    r"registr\w*",
    r"pong\w*",
    r"ponga\w*",
    r"asign\w*",
    r"atribu\w*",
    r"prioriz\w*",
    r"evalu\w*",
    r"avali\w*",
    r"coloqu\w*",
    r"incluy\w*",
    r"inclu\w*",
    # fr
    r"qualifi\w*",
    r"class\w*",
    r"not(?:ez|er|e)",
    r"trait\w*",
    r"enregistr\w*",
    r"mett\w*",
    r"indiqu\w*",
    r"prioris\w*",
    # de
    r"markier\w*",
    r"stuf\w*",
    r"einstuf\w*",
    r"bewert\w*",
    r"behandl\w*",
    r"klassifizier\w*",
    r"kennzeichn\w*",
    r"qualifizier\w*",
    r"setz\w*",
    r"priorisier\w*",
    r"einordn\w*",
    r"eintrag\w*",
    r"fuhr\w*",
    r"werte\w*",
)
_PEOPLE = _alt(
    r"equip[oe]s?",
    "empresa",
    "compania",
    "colegas",
    "asistentes",
    "participantes",
    "contactos",
    "contatos",
    r"leads?",
    "gente",
    "personal",
    "pessoal",
    "cuenta",
    "conta",
    "time",
    "societe",
    "entreprise",
    "collegues",
    "participants",
    "contacts",
    "compte",
    "team",
    "firma",
    "unternehmen",
    "kollegen",
    "teilnehmer",
    "mitarbeiter",
    "kontakte",
    "konto",
)
_TARGET = _alt(
    r"me",
    r"myself",
    r"us",
    r"ourselves",
    r"m'",
    r"moi",
    r"nous",
    r"nos",
    r"mich",
    r"uns",
    r"mir",
    r"mim",
    r"(?:this|that) (?:lead|contact|prospect|request|inquiry|enquiry|submission|message|form|account|record|entry|person|one|company)",
    r"(?:our|my) (?:whole |entire |full )?(?:team|company|colleagues|group|attendees|people|staff|account|org\w*|delegation|"
    r"department|reps|firm|business|lead|record|request|profile|contacts|members|coworkers|co-workers)",
    r"all (?:of )?(?:the |our |these |my |those )?(?:\w+ )?(?:attendees|leads|contacts|participants|prospects|people|visitors|"
    r"registrants|colleagues|members|entries|records|others|accounts|delegates|guests)",
    r"all of (?:us|them)",
    r"everyone",
    r"everybody",
    r"every (?:single )?(?:lead|contact|one|attendee|participant|prospect|record)",
    r"each (?:lead|contact|one|attendee|participant|prospect|record)",
    r"the (?:other|remaining|following|rest of the) \w+",
    r"anyone from",
    r"whoever (?:is )?from",
    # es / pt
    r"todos",
    r"todas",
    r"nosotros",
    rf"nuestr[oa]s? {_PEOPLE}",
    rf"noss[oa]s? {_PEOPLE}",
    r"est[ea] (?:lead|contacto|contato|cliente|prospecto|registro)",
    r"cada (?:lead|contacto|contato|participante|asistente)",
    r"los (?:asistentes|participantes)",
    r"os participantes",
    # fr
    r"tous",
    r"toutes",
    rf"(?:notre|nos) {_PEOPLE}",
    r"ce (?:lead|contact|prospect)",
    r"cette demande",
    r"chaque (?:lead|contact|participant)",
    r"les participants",
    # de
    r"alle",
    r"jeden",
    r"jede",
    rf"unser\w* {_PEOPLE}",
    r"diese[nr]? (?:lead|kontakt|anfrage)",
    r"die teilnehmer",
)
# "qualified" as a rating: at the end, before punctuation, or before a word about leads, not "a qualified engineer".
_NOT_A_RATING = (
    r"(?=$| ?[^\w ]| (?:too|also|as well|leads?|buyers?|prospects?|decision|opportunit\w*|accounts?|contacts?|customers?|mqls?|sqls?|and|or|"
    r"now|today|immediately|right|asap|please|pls|status|so|before|because|since|as|in (?:your|the) (?:system|crm|tool)|by|with|"
    r"for (?:sales|your)|on|at once)\b)"
)
_VALUE = _alt(
    rf"(?:fully |highly |very |pre-?|already )?qualified{_NOT_A_RATING}",
    r"as (?:fully |highly )?qualified\b",
    r"sales[ -]?ready",
    r"sales[ -]?qualified",
    r"marketing[ -]?qualified",
    r"mqls?",
    r"sqls?",
    r"hot (?:lead|prospect|account|opportunit\w*|buyer)s?",
    r"(?:high|highest|top|maximum|max|first)[ -]?priority (?:lead|prospect|account|contact|buyer|deal)s?",
    r"priority (?:lead|prospect|account)s?",
    r"(?:high|highest|top|maximum|max|perfect|full|best)(?: possible)? (?:score|rating|marks|grade|intent|fit)",
    r"100 ?(?:%|percent|/ ?100|points?)",
    r"10 ?/ ?10",
    r"1\.0",
    r"a\+",
    r"tier[ -]?(?:1|one)",
    r"as (?:an? |the )?(?:\w+ ){0,2}(?:decision[ -]?makers?|buyers?|customers?|budget holders?|economic buyers?)",
    r"(?:ready|likely) to (?:buy|purchase|sign)",
    r"in[ -]market",
    r"closed[ -]won",
    r"confidence (?:of )?(?:1|100|0\.9\d*)",
    # es / pt
    r"calificad\w*",
    r"cualificad\w*",
    r"qualificad\w*",
    r"prioritari\w*",
    r"alta prioridad\w*",
    r"maxima prioridad\w*",
    r"caliente\w*",
    r"quente\w*",
    r"list[oa]s? para comprar",
    r"pront[oa]s? para comprar",
    r"decisor\w*",
    r"(?:puntuacion|nota|calificacion|pontuacao) (?:maxima|alta|perfecta)",
    # fr
    r"qualifie(?:e|s|es)?",
    r"prioritaire\w*",
    r"haute priorite",
    r"chauds?",
    r"pret\w* a acheter",
    r"decideur\w*",
    r"note (?:maximale|parfaite)",
    r"score maximal",
    # de
    r"qualifiziert\w*",
    r"(?:hohe[nr]?|hochste[nr]?) prioritat",
    r"heiss\w* lead\w*",
    r"kaufbereit\w*",
    r"entscheider\w*",
    r"(?:hochste[nr]?|beste[nr]?) (?:bewertung|punktzahl|note)",
    r"top[ -]?lead\w*",
)
# "Can your platform mark ...", "we want to score ...": talk about the buyer's own process, not an order.
_OWN_PROCESS = re.compile(
    r"(?:\b(?:can|could|does|do|will|would|should) (?:your|the|this|you[r']?) (?:\w+ ){0,2}(?:tool|product|platform|software|system|"
    r"solution|app|crm|integration|service|feature|model|you)|\bis it possible to|\bhow (?:do|can|does|would|should) (?:we|i|you|one|it|the)|"
    r"\b(?:we|i|they|our \w+|reps|teams?|sales) (?:currently |usually |always |manually |now |then |also )?(?:want|need|'d like|would like|"
    r"like|plan|hope|try|are trying|are looking|have|wish|used|use|must|should|can|could)(?: to)?(?: be able to)?|\b(?:able|ability) to|"
    r"\b(?:lets?|allows?|helps?|enables?) (?:us|me|you|our \w+|teams?|reps) (?:to )?|\bwhen (?:we|they|you|our \w+)|"
    r"\b(?:can|could|may|should|do|shall|would) (?:we|i)|\b(?:we|i|they|our \w+|my \w+)(?: \w+ly)?|"
    r"\b(?:wir|ich|unser\w* \w+|nuestr[oa]s? \w+|notre \w+|noss[oa]s? \w+|je|eu|yo|nosotros)(?: \w+ly)?|"
    # es / pt / fr / de
    r"\b(?:necesitamos|queremos|quisieramos|podemos|deseamos|buscamos|precisamos|gostariamos de|nous (?:voulons|devons|souhaitons|aimerions)|"
    r"pouvez-vous|peut-on|wir (?:wollen|mussen|mochten|brauchen)|kann (?:ihr|euer|das) \w+|"
    r"(?:su|tu|sua|votre|ihr|ihre) (?:herramienta|plataforma|outil|logiciel|sistema|systeme|tool|system|plattform|software) (?:puede|pode|permite|peut|permet|kann)))"
    r"(?: \w+){0,2}$"
)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?\n]+|$)")
_VERB_RE = re.compile(rf"\b{_VERB}(?:s|es|ed|d|ing|ged|ging|ted|ting)?\b")
_TARGET_RE = re.compile(rf"\b{_TARGET}\b")
_VALUE_RE = re.compile(rf"\b{_VALUE}(?!\w)")
_SELF = _alt(
    r"i",
    r"we",
    r"my (?:team|company|account|lead)",
    r"our (?:team|company|account|lead|group)",
    r"(?:this|the) (?:lead|contact|prospect|request|submission|account)",
    r"je",
    r"nous",
    r"ich",
    r"wir",
    r"yo",
    r"nosotros",
    r"eu",
    r"nos",
)
_PASSIVE = _alt(
    r"marked",
    r"flagged",
    r"tagged",
    r"labell?ed",
    r"classified",
    r"categori[sz]ed",
    r"rated",
    r"scored",
    r"ranked",
    r"graded",
    r"treated",
    r"considered",
    r"counted",
    r"recorded",
    r"listed",
    r"logged",
    r"set",
    r"routed",
    r"qualified",
    r"prioriti[sz]ed",
    r"escalated",
    r"promoted",
    r"upgraded",
    r"registered",
    r"moved",
    r"regarded",
    r"seen",
    r"marcad\w*",
    r"considerad\w*",
    r"tratad\w*",
    r"clasificad\w*",
    r"classificad\w*",
    r"marque\w*",
    r"considere\w*",
    r"traite\w*",
    r"classe\w*",
    r"markiert",
    r"eingestuft",
    r"bewertet",
    r"behandelt",
    r"gefuhrt",
)

_IGNORE = _alt(
    "ignore",
    "ignoring",
    "disregard",
    "forget",
    "override",
    "bypass",
    "skip",
    "pay no attention to",
    r"(?:don'?t|do not|stop) (?:follow|following|obey|obeying|apply|applying)",
    r"ne (?:tenez|tiens|tenir) pas compte",
    r"no (?:tengas|tenga|tengan|tomes|tome) en cuenta",
    r"haz caso omiso",
    r"nao (?:leve|levem|considere)\w* em conta",
    r"beachte\w* nicht",
    r"ignor[ae]\w*",
    r"olvid\w*",
    r"oubli\w*",
    r"vergiss\w*",
    r"missacht\w*",
    r"esquec\w*",
    r"desconsider\w*",
    r"ignorier\w*",
)
_RULES = _alt(
    r"instructions?",
    r"prompts?",
    "rules(?! of thumb)",
    "guidelines",
    r"directives?",
    "instrucciones",
    "instruccion",
    "reglas",
    "consignes",
    "regles",
    "anweisungen",
    "anweisung",
    "instruktionen",
    "regeln",
    "vorgaben",
    "instrucoes",
    "instrucao",
    "regras",
    "diretrizes",
    "what you were told",
)
_HIGH = _alt("high", "top", r"max\w*", "perfect", "full", "best", "100", "10", "hot", "qualified")
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(p))
    for kind, p in (
        ("override", rf"\b{_IGNORE}\b(?: \S+){{0,5}}? {_RULES}\b"),
        (
            "new_instructions",
            r"\b(?:new|updated|revised|real|actual|nuevas?|nouvelles?|neue|novas?) (?:system )?(?:instructions?|instrucciones|consignes|anweisungen|instrucoes|orders|task|rules?|reglas?|regles?|regeln|regras?)\b",
        ),
        (
            "rating_request",
            rf"\b(?:anything|anyone|everyone|everything|every lead|all leads|any lead)\b(?: \S+){{0,4}}? (?:counts?|is|are|should be|must be|will be)(?: \S+){{0,2}}? (?:{_VALUE})",
        ),
        ("role_marker", r"(?:^|[\n.!?] ?)(?:system|assistant|developer|sistema|systeme|asistente|assistente|user) ?:"),
        (
            "template_marker",
            r"<\s*/?\s*(?:leads_data|system|assistant|instructions?|prompt)\s*>|<\|im_(?:start|end)\|>|\[/?inst\]|<<sys>>|#{2,} ?(?:instruction|system)",
        ),
        (
            "output_order",
            r"\b(?:respond|reply|answer|output|return)\s+(?:only\s+)?with\b[^.\n]{0,30}\b(?:json|qualified|confidence)\b",
        ),
        (
            "persona",
            r"\b(?:you are now|act as|pretend (?:to be|you are)|from now on,? you|jailbreak|dan mode|developer mode|ahora eres|a partir de ahora eres|tu es maintenant|du bist jetzt|agora voce e|voce agora e)\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:note|message|instruction|hint|memo|reminder|tip|nota|mensaje|remarque|hinweis|notiz|recado|mensagem)s? (?:to|for|para|pour|an|fur|ao|a) (?:the |el |la |le |l'|den |die |das |o |any |all )?"
            r"(?:ai|a\.i\.|assistant|models?|llms?|bots?|chatbot|gpt|chatgpt|scorer|scoring \w+|classifier|algorithm|ia|modelo|modele|modell|ki|algoritmo|algorithme|algorithmus|lead scor\w*|automated \w+|machine)\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:dear|hey|hi|hello|attention|attn|querid[oa]|cher|chere|liebe[rs]?|caro|cara|hola|bonjour|hallo|ola)[ ,]+(?:ai|assistant|model|llm|bot|chatgpt|gpt|claude|gemini|scorer|algorithm|ia|ki|modelo|modele|modell|robot)\b(?! (?:to|of|at|for|manager|director)\b)",
        ),
        (
            "addressed_to_model",
            r"\bif (?:you are|you're) (?:an? )?(?:ai|llm|language model|bot|assistant|automated|machine|model|gpt|scoring)\b|\bsi (?:eres|tu es|vous etes|voce e) (?:une? |um )?(?:ia|ai|bot|modelo|modele|robot)\b|\bwenn du (?:eine? )?(?:ki|ai|bot|sprachmodell) bist\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:ai|llm|language model|assistant|automated \w+|bot|model|algorithm|scoring (?:system|model|engine|tool)|lead[ -]scoring \w+)s? (?:reading|processing|scoring|reviewing|evaluating|analy[sz]ing|grading|ranking) (?:this|these|the following|my|our)\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:whoever|whatever|any (?:ai|system|bot|model|tool))(?: or (?:whoever|whatever))? (?:reads|processes|scores|reviews|evaluates|is reading|is processing)\b",
        ),
        (
            "addressed_to_model",
            r"\b(?:ai|model|llm|algorithm|scorer|scoring \w+|bot|classifier|system)s? (?:should|must|needs to|has to|shall|ought to) "
            r"(?:see|treat|consider|mark|rate|score|rank|qualify|classify|label|flag|regard|answer|output|say)\b",
        ),
        (
            "rating_order",
            rf"\b(?:my|our|this|the) (?:lead |contact |account )?(?:status|stage|score|rating|label|qualification|priority|classification)"
            rf"(?: \S+){{0,2}}? (?:to|=|:|as) (?:\S+ ){{0,2}}?(?:{_VALUE})",
        ),
        ("rating_order", rf"\bmake (?:{_TARGET}) (?:an? |the )?(?:{_HIGH}|{_VALUE})"),
        (
            "rating_order",
            rf"\b(?:{_TARGET})\b(?: \S+){{0,3}}? als (?:\S+ ){{0,4}}?(?:{_VALUE})(?: \S+){{0,3}}? "
            r"(?:markieren|einstufen|bewerten|behandeln|fuhren|kennzeichnen|eintragen|einordnen|priorisieren|qualifizieren)\b",
        ),
        ("rating_order", rf"\bgive (?:{_TARGET}) (?:an? |the )?(?:{_HIGH})"),
        (
            "rating_request",
            rf"\bmake sure (?:that )?(?:{_SELF}) (?:am|is|are|gets?|be|will be|ends? up)\b(?: \S+){{0,3}}? (?:{_PASSIVE}|{_VALUE})",
        ),
        (
            "rating_request",
            rf"\b(?:{_SELF}|{_TARGET})\b(?: \S+){{0,5}}? (?:be|being|get|gets|getting|is|are|was|were|werden|sein)\b(?: \S+){{0,2}}? (?:{_PASSIVE})\b(?: \S+){{0,4}}? (?:{_VALUE})",
        ),
        (
            "rating_request",
            rf"\b(?:ser|etre|seja|sejamos|sermos|seamos)\b(?: \S+){{0,2}}? (?:{_PASSIVE})\b(?: \S+){{0,4}}? (?:{_VALUE})",
        ),
        (
            "rating_order",
            rf"\b(?:qualify|qualifiziere\w*|califi\w*|cualifi\w*|qualifiqu\w*|qualifie[rz]?)\b (?:{_TARGET})\b",
        ),
        (
            "rating_request",
            rf"\b(?:{_SELF})\b(?: \S+){{0,4}}? (?:als|as|como|comme) (?:\S+ ){{0,3}}?(?:{_VALUE})(?: \S+){{0,2}} (?:markiert|eingestuft|bewertet|behandelt|gefuhrt|werden|marked|rated|scored|treated)\b",
        ),
        (
            "rating_request",
            rf"\b(?:this|the) (?:lead|contact|prospect|submission|record|entry) (?:is|=|should be|must be|has to be|needs to be|will be)(?: \S+){{0,2}}? (?:{_VALUE})",
        ),
    )
]


def _rating_request(sentence: str) -> str | None:
    """A verb, then who (me, us, this lead, all attendees) and a rating (qualified, hot, 10/10) in one sentence."""
    for verb in _VERB_RE.finditer(sentence):
        rest = sentence[verb.end() :]
        if not _VALUE_RE.search(rest):
            continue
        target = _TARGET_RE.search(rest) or _TARGET_RE.search(sentence[: verb.start()][-20:])
        # enclitics glue the target to the verb: "márquenme", "califíquennos"
        clitic = len(verb.group(0)) > 5 and verb.group(0).endswith(("me", "nos"))
        if not (target or clitic):
            continue
        if _OWN_PROCESS.search(sentence[: verb.start()].rstrip()):
            continue
        return sentence.strip()
    return None


def screen(text: str | None) -> list[tuple[str, str]]:
    """(kind, fragment) for every way `text` tries to instruct the model; empty when it does not."""
    if not text or not text.strip():
        return []
    return list(_screen(text))


@lru_cache(maxsize=65536)  # a run asks about the same texts several times (batching, judging, validating)
def _screen(text: str) -> tuple[tuple[str, str], ...]:
    hits: list[tuple[str, str]] = []
    for variant in _variants(text):
        for kind, pattern in _PATTERNS:
            if kind != "rating_order" and (match := pattern.search(variant)):
                hits.append((kind, match.group(0).strip()[:80]))
        for sentence in _SENTENCE.findall(variant):
            fragment = _rating_request(sentence)
            for kind, pattern in _PATTERNS:
                if fragment is None and kind == "rating_order":
                    # a question about the product ("can your tool mark ... as qualified?") is not an order
                    fragment = next(
                        (
                            m.group(0)
                            for m in pattern.finditer(sentence)
                            if not _OWN_PROCESS.search(sentence[: m.start()].rstrip())
                        ),
                        None,
                    )
            if fragment:
                hits.append(("rating_request", fragment.strip()[:80]))
        if hits:
            break
    return tuple(dict.fromkeys(hits))


def screen_all(texts: Iterable[str | None]) -> list[tuple[str, str]]:
    return [hit for text in texts for hit in screen(text)]


# Words without which a text can hardly ask a model to rate anyone: far wider than the screen, so that
# leads whose text talks about ratings, the model or other leads are never batched with leads whose
# text does not (and their promoting answers are confirmed alone).
_RATING_WORDS = re.compile(
    r"qualif|calific|cualific|score|scoring|\brat(?:e|ed|es|ing)\b|\brank|priorit|\bmark|\bflag|\blabel|\btag|classif|"
    r"\btier|\bmql|\bsql|\bhot\b|sales[ -]?ready|decision[ -]?maker|decisor|decideur|entscheid|ignor|instruc|anweisung|"
    r"consigne|regel|prompt|assistant|system|\bmodel|\bmodell?o?\b|\bai\b|\bia\b|\bki\b|llm|gpt|\bbot\b|algorithm|"
    r"\bevery(?:one|body| lead| contact)|\ball (?:the |of |our |these |other )?(?:leads|contacts|attendees|participants|them|of us)|"
    r"\bother leads|these leads|this batch|\btod[oa]s\b|\btou(?:s|tes)\b|\balle[ns]?\b|ready to buy|"
    r"kaufbereit|quente|caliente|\bchaud|\bbewert|\beinstuf|\bclass(?:ez|er|e)\b|\bnot(?:ez|er)\b|\bavali|\bpuntu|\bnota\b"
)


def mentions_rating(texts: Iterable[str | None]) -> bool:
    """True when any text so much as mentions ratings, the model or other leads (in any of its folded forms)."""
    return any(text and _mentions(text) for text in texts)


@lru_cache(maxsize=65536)
def _mentions(text: str) -> bool:
    return any(_RATING_WORDS.search(v) for v in _variants(text))
