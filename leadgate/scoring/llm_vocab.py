"""Closed vocabularies for the categorical fields an LLM sees: free text is mapped onto them or dropped.

Industry, country, seniority, consent status and channels are typed by people (or by an integrator's
export) and so can hold anything, a phone number or an email included. What leaves for the model is
only ever a value from the lists below: a known spelling maps to its value, anything else becomes
`other` (or `unknown` when empty). The text itself never leaves.
"""

from __future__ import annotations

import re
import unicodedata

OTHER, UNKNOWN = "other", "unknown"

# value -> spellings and keywords (normalised: lower case, no accents, single spaces)
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "software": (
        "software",
        "it",
        "information technology",
        "tech",
        "technology",
        "it services",
        "computer software",
        "cybersecurity",
        "security software",
        "developer tools",
        "internet",
    ),
    "saas": ("saas", "software as a service", "cloud", "cloud software", "b2b saas"),
    "fintech": ("fintech", "payments", "financial technology", "crypto", "blockchain"),
    "financial_services": (
        "financial services",
        "finance",
        "banking",
        "bank",
        "insurance",
        "insurer",
        "asset management",
        "investment",
        "investment banking",
        "capital markets",
        "accounting",
        "wealth management",
    ),
    "healthcare": (
        "healthcare",
        "health care",
        "health",
        "hospital",
        "medical",
        "medical devices",
        "clinic",
        "clinics",
        "dental",
        "health tech",
        "healthtech",
        "gesundheitswesen",
        "sante",
        "salud",
    ),
    "pharmaceuticals": ("pharmaceuticals", "pharma", "pharmaceutical", "biotech", "biotechnology", "life sciences"),
    "manufacturing": (
        "manufacturing",
        "industrial",
        "engineering",
        "automotive",
        "aerospace",
        "chemicals",
        "electronics",
        "semiconductors",
        "machinery",
        "textiles",
        "industrie",
        "fertigung",
        "manufacture",
    ),
    "logistics": (
        "logistics",
        "transport",
        "transportation",
        "shipping",
        "freight",
        "supply chain",
        "mobility",
        "marine",
        "logistik",
        "logistique",
        "logistica",
    ),
    "retail": (
        "retail",
        "e commerce",
        "ecommerce",
        "consumer goods",
        "cpg",
        "fmcg",
        "apparel",
        "fashion",
        "food",
        "food and beverage",
        "fitness",
        "wholesale",
        "einzelhandel",
        "commerce",
    ),
    "energy": (
        "energy",
        "utilities",
        "utility",
        "oil and gas",
        "oil gas",
        "renewables",
        "solar",
        "water",
        "energie",
        "energia",
    ),
    "media": ("media", "entertainment", "publishing", "games", "gaming", "advertising", "marketing", "broadcasting"),
    "telecommunications": ("telecommunications", "telecom", "telecoms", "telco", "networks", "wireless"),
    "education": (
        "education",
        "edtech",
        "e learning",
        "elearning",
        "university",
        "higher education",
        "school",
        "learning",
        "bildung",
        "educacion",
    ),
    "hospitality": ("hospitality", "hotels", "hotel", "travel", "tourism", "leisure", "restaurants"),
    "consulting": ("consulting", "consultancy", "professional services", "advisory", "beratung", "conseil"),
    "real_estate": ("real estate", "property", "proptech", "construction", "immobilien", "immobilier"),
    "public_sector": (
        "government",
        "public sector",
        "public administration",
        "defence",
        "defense",
        "nonprofit",
        "non profit",
        "ngo",
        "charity",
    ),
    "legal": ("legal", "law", "law firm", "legal services", "legaltech"),
    "agriculture": ("agriculture", "agritech", "farming"),
}

# ISO 3166-1 alpha-2: the only country values that leave.
_ALPHA2 = {
    "AD",
    "AE",
    "AF",
    "AG",
    "AI",
    "AL",
    "AM",
    "AO",
    "AQ",
    "AR",
    "AS",
    "AT",
    "AU",
    "AW",
    "AX",
    "AZ",
    "BA",
    "BB",
    "BD",
    "BE",
    "BF",
    "BG",
    "BH",
    "BI",
    "BJ",
    "BL",
    "BM",
    "BN",
    "BO",
    "BQ",
    "BR",
    "BS",
    "BT",
    "BV",
    "BW",
    "BY",
    "BZ",
    "CA",
    "CC",
    "CD",
    "CF",
    "CG",
    "CH",
    "CI",
    "CK",
    "CL",
    "CM",
    "CN",
    "CO",
    "CR",
    "CU",
    "CV",
    "CW",
    "CX",
    "CY",
    "CZ",
    "DE",
    "DJ",
    "DK",
    "DM",
    "DO",
    "DZ",
    "EC",
    "EE",
    "EG",
    "EH",
    "ER",
    "ES",
    "ET",
    "FI",
    "FJ",
    "FK",
    "FM",
    "FO",
    "FR",
    "GA",
    "GB",
    "GD",
    "GE",
    "GF",
    "GG",
    "GH",
    "GI",
    "GL",
    "GM",
    "GN",
    "GP",
    "GQ",
    "GR",
    "GS",
    "GT",
    "GU",
    "GW",
    "GY",
    "HK",
    "HM",
    "HN",
    "HR",
    "HT",
    "HU",
    "ID",
    "IE",
    "IL",
    "IM",
    "IN",
    "IO",
    "IQ",
    "IR",
    "IS",
    "IT",
    "JE",
    "JM",
    "JO",
    "JP",
    "KE",
    "KG",
    "KH",
    "KI",
    "KM",
    "KN",
    "KP",
    "KR",
    "KW",
    "KY",
    "KZ",
    "LA",
    "LB",
    "LC",
    "LI",
    "LK",
    "LR",
    "LS",
    "LT",
    "LU",
    "LV",
    "LY",
    "MA",
    "MC",
    "MD",
    "ME",
    "MF",
    "MG",
    "MH",
    "MK",
    "ML",
    "MM",
    "MN",
    "MO",
    "MP",
    "MQ",
    "MR",
    "MS",
    "MT",
    "MU",
    "MV",
    "MW",
    "MX",
    "MY",
    "MZ",
    "NA",
    "NC",
    "NE",
    "NF",
    "NG",
    "NI",
    "NL",
    "NO",
    "NP",
    "NR",
    "NU",
    "NZ",
    "OM",
    "PA",
    "PE",
    "PF",
    "PG",
    "PH",
    "PK",
    "PL",
    "PM",
    "PN",
    "PR",
    "PS",
    "PT",
    "PW",
    "PY",
    "QA",
    "RE",
    "RO",
    "RS",
    "RU",
    "RW",
    "SA",
    "SB",
    "SC",
    "SD",
    "SE",
    "SG",
    "SH",
    "SI",
    "SJ",
    "SK",
    "SL",
    "SM",
    "SN",
    "SO",
    "SR",
    "SS",
    "ST",
    "SV",
    "SX",
    "SY",
    "SZ",
    "TC",
    "TD",
    "TF",
    "TG",
    "TH",
    "TJ",
    "TK",
    "TL",
    "TM",
    "TN",
    "TO",
    "TR",
    "TT",
    "TV",
    "TW",
    "TZ",
    "UA",
    "UG",
    "UM",
    "US",
    "UY",
    "UZ",
    "VA",
    "VC",
    "VE",
    "VG",
    "VI",
    "VN",
    "VU",
    "WF",
    "WS",
    "YE",
    "YT",
    "ZA",
    "ZM",
    "ZW",
}
COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "US": (
        "usa",
        "united states",
        "united states of america",
        "u s",
        "u s a",
        "america",
        "estados unidos",
        "etats unis",
    ),
    "GB": (
        "uk",
        "u k",
        "united kingdom",
        "great britain",
        "britain",
        "england",
        "scotland",
        "wales",
        "northern ireland",
        "gbr",
        "royaume uni",
        "reino unido",
        "vereinigtes konigreich",
    ),
    "DE": ("germany", "deutschland", "allemagne", "alemania", "alemanha", "deu"),
    "FR": ("france", "frankreich", "francia", "franca", "fra"),
    "ES": ("spain", "espana", "espagne", "spanien", "espanha", "esp"),
    "IT": ("italy", "italia", "italie", "italien", "ita"),
    "NL": ("netherlands", "the netherlands", "holland", "nederland", "pays bas", "niederlande", "nld"),
    "BE": ("belgium", "belgique", "belgie", "belgien", "bel"),
    "CH": ("switzerland", "schweiz", "suisse", "svizzera", "che"),
    "AT": ("austria", "osterreich", "autriche", "aut"),
    "IE": ("ireland", "eire", "irl", "republic of ireland"),
    "PT": ("portugal", "prt"),
    "PL": ("poland", "polska", "pologne", "pol"),
    "SE": ("sweden", "sverige", "suede", "swe"),
    "NO": ("norway", "norge", "nor"),
    "DK": ("denmark", "danmark", "dnk"),
    "FI": ("finland", "suomi", "fin"),
    "CZ": ("czech republic", "czechia", "cesko", "cze"),
    "CA": ("canada", "can"),
    "MX": ("mexico", "mex"),
    "BR": ("brazil", "brasil", "bresil", "bra"),
    "AR": ("argentina", "arg"),
    "CL": ("chile", "chl"),
    "CO": ("colombia", "col"),
    "AU": ("australia", "aus"),
    "NZ": ("new zealand", "nzl"),
    "IN": ("india", "ind", "bharat"),
    "CN": ("china", "prc", "chn"),
    "JP": ("japan", "nippon", "jpn"),
    "KR": ("south korea", "korea", "republic of korea", "kor"),
    "SG": ("singapore", "sgp"),
    "HK": ("hong kong", "hkg"),
    "IL": ("israel", "isr"),
    "AE": ("united arab emirates", "uae", "are", "emirates"),
    "SA": ("saudi arabia", "ksa", "sau"),
    "ZA": ("south africa", "zaf"),
    "NG": ("nigeria", "nga"),
    "KE": ("kenya", "ken"),
    "EG": ("egypt", "egy"),
    "TR": ("turkey", "turkiye", "tur"),
}
SENIORITIES = frozenset({"c_level", "vp", "director", "manager", "individual"})
CONSENT = {"granted": "granted", "withdrawn": "withdrawn", "refused": "withdrawn", "denied": "withdrawn"}
CHANNELS = ("web", "form", "email", "chat", "crm", "event")


def _normal(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: "Épargne & Co." -> "epargne co"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.replace("&", " and ")).split())


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        _normal(spelling): value
        for value, spellings in table.items()
        for spelling in (value.replace("_", " "), *spellings)
    }


_INDUSTRY_INDEX = _index(INDUSTRIES)
_COUNTRY_INDEX = _index(COUNTRY_NAMES)
_LONGEST = max(len(k.split()) for k in (*_INDUSTRY_INDEX, *_COUNTRY_INDEX))


def _phrases(normal: str) -> list[str]:
    """Word n-grams of `normal`, longest first: "b2b saas platform" -> "b2b saas", "saas", ...."""
    words = normal.split()
    return [
        " ".join(words[i : i + n]) for n in range(min(_LONGEST, len(words)), 0, -1) for i in range(len(words) - n + 1)
    ]


def industry_value(raw: object) -> str | None:
    """The industry as a vocabulary value: None when empty, `other` when it names nothing known."""
    normal = _normal(str(raw)) if raw is not None else ""
    if not normal:
        return None
    if normal in _INDUSTRY_INDEX:
        return _INDUSTRY_INDEX[normal]
    return next((_INDUSTRY_INDEX[p] for p in _phrases(normal) if p in _INDUSTRY_INDEX and len(p) > 2), OTHER)


def country_value(raw: object) -> str | None:
    """An ISO 3166-1 alpha-2 code, `other` for text that names no country, None when empty."""
    text = str(raw).strip() if raw is not None else ""
    normal = _normal(text)
    if not normal:
        return None
    if len(normal) == 2 and normal.upper() in _ALPHA2:
        return "GB" if normal == "uk" else normal.upper()
    if normal in _COUNTRY_INDEX:
        return _COUNTRY_INDEX[normal]
    # "Berlin, Germany": a known name inside the text; a bare two-letter token inside text is not trusted.
    return next((_COUNTRY_INDEX[p] for p in _phrases(normal) if p in _COUNTRY_INDEX and len(p) > 3), OTHER)


def seniority_value(raw: object) -> str:
    value = str(raw).strip().lower() if raw is not None else ""
    return value if value in SENIORITIES else UNKNOWN


def consent_value(raw: object) -> str:
    return CONSENT.get(str(raw).strip().lower() if raw is not None else "", UNKNOWN)


def channels_value(raw: object) -> str | None:
    """The comma-joined channels that are known source names; anything else is dropped."""
    if raw is None:
        return None
    parts = {p.strip().lower() for p in str(raw).split(",")}
    known = [c for c in CHANNELS if c in parts]
    return ",".join(known) or None
