"""Realistic synthetic engagement exports (web, forms, email, chat, CRM, events) for demos and benchmarks."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from leadgate.config import REFERENCE_DIR

SAMPLE_NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # fixed, so the bundled sample is reproducible
SAMPLE_SEED = 7
SAMPLE_LEADS = 480
DAY = 86400.0
SITE = "https://www.pipewise.example"
BAD_SHARE = 0.003
_COMMON = ["event_id", "source", "event_type", "occurred_at", "email"]
_PERSON = ["first_name", "last_name", "job_title"]
_FIRM = ["company", "company_domain", "company_size", "industry", "country"]
COLUMNS = {
    "form_fills.csv": _COMMON + ["anonymous_id"] + _PERSON + ["phone"] + _FIRM
    + ["page_url", "message", "utm_source", "utm_campaign", "consent", "lead_source_detail"],
    "crm_events.csv": _COMMON + _PERSON + ["phone"] + _FIRM + ["message", "consent", "sfdc_owner"],
    "event_attendance.csv": _COMMON + _PERSON + ["company", "company_size", "country", "consent", "utm_campaign", "event_name"],
}
FILES = ("web_visits.jsonl", "form_fills.csv", "email_engagement.jsonl", "chat_transcripts.jsonl", "crm_events.csv", "event_attendance.csv")
# kind -> (file, outcome at ingest, what is wrong); outcomes: reject | field_issue | duplicate | conflict
BAD_KINDS = {
    "invalid_json": ("web_visits.jsonl", "reject", "line cut off: not valid JSON"),
    "missing_event_id": ("email_engagement.jsonl", "reject", "no event_id"),
    "invalid_email": ("form_fills.csv", "reject", "email 'bob@@example' and no anonymous_id"),
    "bad_timestamp": ("chat_transcripts.jsonl", "reject", "occurred_at 'yesterday'"),
    "unknown_source": ("crm_events.csv", "reject", "source 'fax'"),
    "no_identity": ("event_attendance.csv", "reject", "neither email nor anonymous_id (walk-in badge)"),
    "company_size_lots": ("form_fills.csv", "field_issue", "company_size 'lots' (event kept, size empty)"),
    "consent_maybe": ("event_attendance.csv", "field_issue", "consent 'maybe' (event kept, consent empty)"),
    "exact_duplicate": ("email_engagement.jsonl", "duplicate", "webhook re-sent an identical event"),
    "conflicting_duplicate": ("crm_events.csv", "conflict", "same source+event_id, different content"),
}

FIRST = ("Emma Liam Olivia Noah Ava Lucas Mia Mateo Sofia Leon Hannah Jonas Chloé Louis Aisha Omar Priya Arjun Mei Wei "
         "Yuki Haruto Zoë Jürgen Léa José María Carlos Ana Pedro Fatima Youssef Ingrid Lars Astrid Nils Siobhan Declan "
         "Aoife Ciarán Grace Henry Charlotte Oliver Amelia George Isla Jack Sophie Daniel Laura Marco Giulia Tomasz "
         "Katarzyna Piotr Sanne Daan Femke Bram Camille Hugo Manon Jules Elena Dmitri Olga Kwame Ama Chidi Ngozi Tariq "
         "Leila Diego Valentina Samuel Rachel Ethan Maya Noor Ravi Ananya Kenji Sakura Min-jun Ji-woo").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Martínez Lopez Wilson Anderson Taylor Thomas Moore "
        "Jackson Martin Lee Thompson White Harris Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams "
        "Nelson Hill Campbell Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer Dubois Moreau "
        "Laurent Lefèvre Rossi Russo Ferrari Bianchi Kowalski Nowak Wiśniewski de_Vries Jansen van_Dijk Bakker Visser "
        "Andersson Johansson Karlsson Nilsson O'Brien Murphy Kelly Byrne Patel Sharma Singh Gupta Khan Chen Wang Li "
        "Zhang Tanaka Suzuki Sato Kim Park Nguyen Okafor Mensah Haddad Silva Santos Oliveira Costa Ivanova Novak").split()
PREFIX = ("Acme Northwind Bluefin Silverline Redwood Brightwater Ironbridge Cobalt Summit Evergreen Harbor Granite "
          "Lumen Nimbus Orchid Pioneer Quantum Riverstone Sapphire Tidewater Vertex Willow Zenith Aurora Beacon Cedar "
          "Delta Ember Falcon Glacier Horizon Indigo Juniper Keystone Lakeside Meridian Nova Oakridge Pinnacle Quarry "
          "Radiant Sequoia Trident Unity Vantage Westbrook Alder Birch Copper Driftwood Eastgate Foxglove Greenfield "
          "Highland Ivory Jade Kestrel Lighthouse Maple Northstar Orbit Pacific").split()
CORE = [c.split(":") for c in (
    "Robotics:Manufacturing Logistics:Logistics Health:Healthcare Analytics:Software Software:Software Foods:Retail "
    "Capital:Financial Services Energy:Energy Pharma:Pharmaceuticals Media:Media Retail:Retail Motors:Manufacturing "
    "Cloud:SaaS Systems:Software Networks:Telecommunications Insurance:Financial Services Bank:Financial Services "
    "Learning:Education Security:Software Devices:Manufacturing Materials:Manufacturing Biotech:Pharmaceuticals "
    "Freight:Logistics Telecom:Telecommunications Payments:Fintech Apparel:Retail Hotels:Hospitality "
    "Consulting:Consulting Engineering:Manufacturing Marine:Logistics Aerospace:Manufacturing Textiles:Manufacturing "
    "Chemicals:Manufacturing Games:Media Dental:Healthcare Clinics:Healthcare Realty:Real Estate Water:Energy "
    "Solar:Energy Semiconductors:Manufacturing Travel:Hospitality Fitness:Retail Ledger:Fintech Data:SaaS "
    "Insights:SaaS Commerce:Retail Mobility:Logistics").replace("Financial Services", "Financial_Services")
    .replace("Real Estate", "Real_Estate").split()]
QUALIFIER = ["", "Group", "Labs", "Holdings", "Partners", "International", "Digital", "Works", "Solutions"]
COUNTRIES = {"US": 35, "GB": 12, "DE": 12, "FR": 6, "NL": 5, "CA": 5, "AU": 4, "SE": 3, "IE": 2, "ES": 3, "IN": 5,
             "BR": 3, "JP": 2, "SG": 2, "PL": 1}
TLD = {"DE": ".de", "GB": ".co.uk", "FR": ".fr", "NL": ".nl", "SE": ".se", "ES": ".es", "PL": ".pl", "AU": ".com.au"}
FREEMAIL = ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "proton.me", "gmx.de", "hotmail.co.uk"]
SIZE_BUCKETS = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, 120000)]
SIZE_WEIGHTS = [10, 22, 25, 15, 10, 11, 4, 3]
TITLES = {  # seniority -> (weight, titles)
    "c": (6, "CEO|Chief Executive Officer|CFO|CTO|COO|Chief Revenue Officer|Chief Marketing Officer|Founder & CEO|Co-Founder"),
    "vp": (9, "VP Sales|VP of Marketing|Vice President, Sales|SVP Operations|VP Engineering|VP Revenue Operations|EVP, Commercial"),
    "dir": (15, "Director of IT|Sales Director|Director, Demand Generation|Head of Sales|Head of Marketing|IT Director|Head of Data"),
    "mgr": (27, "Marketing Manager|Sales Manager|IT Manager|Revenue Operations Manager|Product Manager|Account Manager|Team Lead, Inside Sales"),
    "ind": (33, "Analyst|Business Analyst|Account Executive|Sales Development Representative|Software Engineer|Marketing Specialist|Data Analyst|Consultant"),
    "unk": (10, "Student|Freelancer|Growth Ninja|Other|||"),
}
PAGES = ["/", "/product", "/product/lead-scoring", "/integrations/salesforce", "/integrations/hubspot", "/customers",
         "/blog/what-is-an-mql", "/blog/buying-committees-2026", "/blog/lead-scoring-models", "/about", "/security"]
PRICING = ["/pricing", "/pricing#enterprise", "/pricing?plan=team"]
RESOURCES = ["/resources/lead-scoring-playbook.pdf", "/resources/state-of-revops-2026.pdf",
             "/resources/roi-calculator.xlsx", "/resources/buyer-guide-enterprise.pdf"]
UTM = [("google", "brand-search-2026"), ("linkedin", "abm-enterprise-q3"), ("newsletter", "monthly-digest"),
       ("g2", "review-profile"), ("partner", "partner-referral"), ("", ""), ("", ""), ("", "")]
CAMPAIGNS = ["monthly-digest", "webinar-invite-lead-scoring", "case-study-logistics", "pricing-update-2026",
             "nurture-1-welcome", "nurture-2-playbook", "nurture-3-roi", "event-follow-up"]
EVENTS = [("revops-summit-berlin", "RevOps Summit Berlin", 40, "eu1"), ("webinar-lead-scoring", "Webinar: Lead scoring sales trusts", 12, "utc"),
          ("data-leaders-london", "Data Leaders London", 220, "eu0"), ("saas-growth-nyc", "SaaS Growth Day NYC", 300, "us"),
          ("pipeline-live-q2", "Pipeline Live (online)", 150, "utc")]
OWNERS = ["005A1 Jordan Reyes", "005A2 Sam Whitfield", "005A3 Priya Nair", ""]
MESSAGES = {
    "intent": ["We'd like a demo for our {n}-person sales team next week.",
               "Can you send pricing for {n} seats? We are choosing a vendor this quarter.",
               'Evaluating you vs. two others, need "Enterprise" pricing, SSO and a DPA. Budget approved.',
               "Hi,\nwe're ready to run a pilot with {n} reps. Who handles procurement?\nThanks",
               "Our contract with the current tool ends in January. Please call me about a migration, {n} users.",
               "What does the Team plan cost for {n} users, billed annually?",
               "Do you integrate with Salesforce? We have {n} reps and want to see pricing."],
    "ambiguous": ["Just looking around, maybe next year.",
                  "Interesting, not sure we have budget. Can you send some info?",
                  "Downloading this for a colleague, they might reach out.",
                  "We're a small team, probably too early for us, but curious.",
                  'Researching options for "someday", nothing planned yet.'],
    "negative": ["Not interested, please remove me from your list.", "Stop emailing me.",
                 "We signed with another vendor last month, no thanks.",
                 "Please unsubscribe me, this is not relevant to my role."],
    "job": ["Hi, I'm applying for the Sales Development Representative role, where can I send my CV?",
            "Are you hiring data engineers? I'd love to join, resume attached."],
    "vendor": ["We help companies like yours 10x outbound with AI SDRs, 15 minutes next week?",
               "Quick question: who buys your office supplies? 20% off your first order, this week only."],
    "spam": ["B3ST SEO backlinks!!! cheap, visit http://cheap-links.example.net now",
             "Congratulations, you won a $500 gift card, click http://prize.example.org"],
    "support": ["I'm an existing customer and can't log in since yesterday, please help.",
                "How do I export my reports to CSV? Our admin is out."],
    "crm": ["Discovery call booked by SDR: wants pricing for {n} seats.", "Inbound call, evaluating 3 vendors; decision this quarter.",
            "Call notes:\n- {n} reps, Salesforce shop\n- budget approved, wants a demo next week", "Met at our booth, asked for a follow-up meeting."],
    "question": ["Do you integrate with HubSpot?", "Is there a free trial?", "Where is your data hosted, EU or US?"],
}
ARCHETYPES = {"hot": 14, "warm": 30, "casual": 28, "ambiguous": 8, "negative": 6, "reconsent": 1, "job": 1,
              "vendor": 1, "spam": 1, "support": 2, "high_fit_low": 3, "dormant": 5}
GUARANTEED = ["hot", "hot", "hot", "warm", "casual", "ambiguous", "negative", "negative", "reconsent", "job", "vendor",
              "spam", "support", "high_fit_low", "high_fit_low", "dormant", "dormant", "warm", "hot", "casual"]
GUARANTEED_CHANNEL = {0: "chat", 1: "crm", 3: "event", 18: "form"}
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ë": "e", "á": "a", "í": "i",
                       "ó": "o", "ñ": "n", "ç": "c", "ś": "s", "ł": "l", "ø": "o", "'": "", " ": "", "-": ""})
_MASK48 = (1 << 48) - 1


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record: where it is and what ingest should do with it."""

    file: str
    line: int  # physical line; a CSV header is line 1
    kind: str
    outcome: str  # reject | field_issue | duplicate | conflict


@dataclass(frozen=True)
class SampleReport:
    """What write_sample wrote, and what ingest should report for it."""

    out_dir: Path
    files: dict[str, int]  # records per file (CSV: records, not physical lines)
    leads: int
    anonymous_visitors: int
    bad_records: int
    expected_rejects: int
    expected_field_issues: int
    expected_duplicates: int  # conflicting duplicates included
    expected_conflicts: int
    bad: tuple[BadRecord, ...]

    @property
    def records(self) -> int:
        return sum(self.files.values())

    @property
    def expected_accepted(self) -> int:
        return self.records - self.expected_rejects - self.expected_duplicates


def _perm(n: int, salt: int) -> int:
    """A bijection of n (for fixed salt): unique ids that do not look sequential."""
    return ((n + salt * 0x1000003) * 0x9E3779B97F4A7C15) & _MASK48


@lru_cache(maxsize=64)
def _dst(zone: str, year: int) -> tuple[float, float]:
    """UTC start and end of summer time (EU: last Sundays of March/October; US: 2nd Sunday March, 1st Sunday November)."""
    if zone == "us":
        mar = date(year, 3, 8) + timedelta((6 - date(year, 3, 8).weekday()) % 7)
        nov = date(year, 11, 1) + timedelta((6 - date(year, 11, 1).weekday()) % 7)
        return (datetime(mar.year, 3, mar.day, 7, tzinfo=UTC).timestamp(), datetime(nov.year, 11, nov.day, 6, tzinfo=UTC).timestamp())
    ends = [date(year, m, 31) - timedelta((date(year, m, 31).weekday() + 1) % 7) for m in (3, 10)]
    return tuple(datetime(d.year, d.month, d.day, 1, tzinfo=UTC).timestamp() for d in ends)  # type: ignore[return-value]


def _base(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).isoformat()[:19]


def _local(ts: float, zone: str) -> str:
    """ISO timestamp in a zone's local time with its offset (eu1 = Berlin, eu0 = London, us = New York)."""
    if zone == "utc":
        return _base(ts) + "Z"
    start, end = _dst(zone, datetime.fromtimestamp(ts, UTC).year)
    hours = {"eu1": 1, "eu0": 0, "us": -5}[zone] + (start <= ts < end)
    return _base(ts + hours * 3600) + (f"+{hours:02d}:00" if hours >= 0 else f"-{-hours:02d}:00")


def _size_text(employees: int, style: str) -> str:
    if style == "range":
        lo, hi = next(b for b in SIZE_BUCKETS if employees <= b[1])
        return "10000+" if lo > 10000 else f"{lo}-{hi}"
    if style == "round":
        return str(round(employees, 1 - len(str(employees)) + 1) or employees)
    return str(employees)


class _Lead:
    __slots__ = ("email", "first", "last", "title", "phone", "company", "domain", "employees", "industry", "country",
                 "anon", "arch", "channel", "end", "utm", "typed_company", "size_style", "no_size", "landed")


class _Generator:
    """Plans people and companies, plays each lead's journey and buffers records per file."""

    def __init__(self, seed: int, now: datetime, leads: int) -> None:
        self.rng = random.Random(seed)
        self.now = now.timestamp()
        self.oldest = self.now - 360 * DAY
        self.out: dict[str, list] = {name: [] for name in FILES}
        self.counter = dict.fromkeys(("web", "form", "email", "chat", "crm", "event"), 0)
        self.emails: set[str] = set()
        self.seen_anon: set[str] = set()
        self.linked_anon: set[str] = set()  # anonymous ids that some record ties to an email
        self.marked: dict[str, dict[int, str]] = {name: {} for name in FILES}  # good rows given a field issue
        self.dumps = json.JSONEncoder(ensure_ascii=False).encode
        self.companies = self._companies(max(40, leads // 4))
        self.refs = self._reference_companies()
        self.big = [c for c in self.companies if c[4] >= 5000]

    # ---------------------------------------------------------------- planning
    def _companies(self, n: int) -> list[tuple]:
        rng, combos = self.rng, len(PREFIX) * len(CORE) * len(QUALIFIER)
        out = []
        for k in rng.sample(range(combos), min(n, combos)):
            prefix, core, qual = PREFIX[k % len(PREFIX)], CORE[k // len(PREFIX) % len(CORE)], QUALIFIER[k // len(PREFIX) // len(CORE)]
            name = " ".join(w for w in (prefix, core[0], qual) if w)
            country = rng.choices(list(COUNTRIES), list(COUNTRIES.values()))[0]
            tld = TLD.get(country, ".com") if rng.random() < 0.6 else (".io" if core[1] in ("Software", "SaaS") else ".com")
            lo, hi = rng.choices(SIZE_BUCKETS, SIZE_WEIGHTS)[0]
            employees = int(lo * (hi / lo) ** rng.random())
            out.append((name, name.lower().replace(" ", "-") + tld, core[1].replace("_", " "), country, employees))
        return out

    def _reference_companies(self) -> list[tuple]:
        """Named target accounts, their subsidiaries at every level, and subsidiaries of non-targets (hooli-xyz.com)."""
        names: dict[str, str] = {}
        with open(REFERENCE_DIR / "company_hierarchy.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                names[row["company_domain"]] = row["company_name"]
                names.setdefault(row["parent_domain"], row["parent_domain"].split(".")[0].title())
        with open(REFERENCE_DIR / "target_accounts.csv", newline="", encoding="utf-8") as fh:
            names.update({row["account_domain"]: row["account_name"] for row in csv.DictReader(fh)})
        industries = {"umbrella": "Pharmaceuticals", "globex": "Logistics", "stark": "Energy", "soylent": "Retail",
                      "wayne": "Manufacturing", "tyrell": "Manufacturing"}
        rng = self.rng
        return [(name, domain, industries.get(domain.split("-")[0].split(".")[0], "Software"), "DE" if domain.endswith(".de") else rng.choice(["US", "US", "GB"]),
                 rng.choice([1200, 3500, 8000, 25000, 90000])) for domain, name in sorted(names.items())]

    def _person(self, arch: str, company: tuple | None, freemail: bool) -> _Lead:
        rng, lead = self.rng, _Lead()
        lead.first, lead.last = rng.choice(FIRST), rng.choice(LAST).replace("_", " ")
        seniority = rng.choices(list(TITLES), [w for w, _ in TITLES.values()])[0]
        if arch == "high_fit_low":
            seniority = rng.choice(["c", "vp"])
        lead.title = rng.choice(TITLES[seniority][1].split("|"))
        if arch in ("job", "spam"):
            lead.title, freemail, company = rng.choice(["Student", "", "Sales Associate"]), True, None
        if arch == "vendor":
            company = rng.choice([("GrowthPilot AI", "growthpilot-ai.com", "Software", "US", 40),
                                  ("OfficeSupply Direct", "officesupply-direct.co.uk", "Retail", "GB", 120)])
            lead.title = "Account Executive"
        f, l_ = lead.first.lower().translate(_FOLD), lead.last.lower().translate(_FOLD)
        if freemail or company is None:
            local = rng.choice([f"{f}.{l_}", f"{f}{l_}{rng.randint(1, 99)}", f"{f[0]}{l_}{rng.randint(1960, 2004)}"])
            domain = rng.choice(FREEMAIL)
        else:
            local = rng.choice([f"{f}.{l_}", f"{f}.{l_}", f"{f[0]}{l_}", f, f"{f}_{l_}"])
            domain = company[1]
        email, k = f"{local}@{domain}", 1
        while email in self.emails:
            k += 1
            email = f"{local}{k}@{domain}"
        self.emails.add(email)
        lead.email, lead.arch, lead.end, lead.landed = email, arch, None, False
        firm = company or ("", "", "", rng.choice(list(COUNTRIES)), 0)
        lead.company, lead.domain, lead.industry, lead.country, lead.employees = firm[0], firm[1], firm[2], firm[3], firm[4]
        if freemail and company is not None:  # a typed company name but no company domain
            lead.domain = ""
            if rng.random() < 0.4:
                lead.company = ""
        suffix = {"DE": " GmbH", "GB": " Ltd", "US": ", Inc."}.get(lead.country, "")
        lead.typed_company = lead.company + suffix if lead.company and rng.random() < 0.2 else lead.company
        lead.no_size = not lead.employees or rng.random() < 0.08
        lead.size_style = rng.choice(["range", "range", "range", "exact"])
        cc = lead.country
        n = rng.randint(100, 199)
        lead.phone = ("" if rng.random() < 0.5 else f"+1 ({rng.randint(201, 989)}) 555-0{n}" if cc in ("US", "CA")
                      else f"+44 20 7946 0{n}" if cc in ("GB", "IE") else f"+61 2 5550 {n}{rng.randint(0, 9)}" if cc == "AU" else "")
        lead.anon = self._anon()
        lead.utm = rng.choice(UTM)
        lead.channel = rng.choices(["form", "chat", "event", "crm"], [70, 10, 12, 8])[0]
        if arch == "high_fit_low":
            lead.channel = rng.choice(["event", "crm"])
        elif arch in ("support",):
            lead.channel = "chat"
        elif arch in ("job", "vendor", "spam", "negative", "reconsent", "dormant"):
            lead.channel = "form"
        return lead

    def _anon(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def plan(self, leads: int) -> list[_Lead]:
        """Guaranteed scenarios, buying centres, people at reference companies, then the rest."""
        rng, people = self.rng, []
        names, weights = list(ARCHETYPES), list(ARCHETYPES.values())
        for k, arch in enumerate(GUARANTEED[:leads]):
            lead = self._person(arch, self._company(arch), False)
            lead.channel = GUARANTEED_CHANNEL.get(k, lead.channel)
            people.append(lead)
        groups = max(3, leads // 80) if leads >= 40 else 0
        for g in range(groups):
            company = rng.choice(self.refs) if g == 0 else rng.choice([c for c in self.companies[:200] if c[4] >= 200] or self.companies)
            centre = self.now - rng.uniform(5, 120) * DAY
            for _ in range(min(rng.randint(3, 6), leads - len(people))):
                lead = self._person(rng.choice(["hot", "warm", "warm", "casual", "ambiguous"]), company, False)
                lead.end = min(self.now - 0.1 * DAY, centre + rng.uniform(-10, 10) * DAY)
                people.append(lead)
        at_refs = max(2 * len(self.refs), leads * 3 // 100) if leads >= 60 else leads // 5
        for k in range(min(at_refs, leads - len(people))):
            arch = rng.choices(names, weights)[0]
            people.append(self._person(arch if arch not in ("job", "vendor", "spam") else "warm", self.refs[k % len(self.refs)], False))
        for arch in rng.choices(names, weights, k=leads - len(people)):
            people.append(self._person(arch, self._company(arch), rng.random() < 0.1))
        for lead in people:
            if lead.end is None:
                recent = lead.arch in ("hot", "dormant") or (lead.arch == "high_fit_low" and rng.random() < 0.5)
                lead.end = self.now - (40 if recent else 300) * DAY * rng.random() ** (2 if recent else 1.3) - 0.05 * DAY
        return people

    def _company(self, arch: str) -> tuple:
        if arch == "high_fit_low":
            return self.rng.choice(self.big or self.companies)
        return self.companies[int(len(self.companies) * self.rng.random() ** 2)]

    # ---------------------------------------------------------------- journeys
    def journey(self, lead: _Lead) -> None:
        """Play one lead's events: anonymous browsing, identification, then engagement (or silence)."""
        rng, a = self.rng, lead.arch
        r, p = rng.randint, rng.random
        if a == "dormant":  # two bursts more than 90 days apart
            t2 = lead.end - rng.uniform(2, 20) * DAY
            t1 = t2 - rng.uniform(95, 200) * DAY
            self._play(lead, t1 - rng.uniform(1, 20) * DAY, t1, ["visit"] * r(1, 3) + ["identify:content_download"] + ["open"] * r(1, 3))
            self._play(lead, t2, lead.end, ["visit", "pricing", rng.choice(["demo:intent", "reply:intent", "chat:intent"])])
            return
        steps = {
            "hot": lambda: ["visit"] * r(1, 3) + ["pricing"] * r(1, 2) + [rng.choice(["identify:content_download", "identify:form_submit"])]
            + ["open"] * r(1, 3) + ["visit", "pricing", "demo:intent"] + ["reply:intent"] * (p() < 0.5)
            + ["meet"] * (p() < 0.4) + ["chat:intent"] * (p() < 0.2),
            "warm": lambda: ["visit"] * r(1, 3) + ["identify:content_download"] + ["open"] * r(2, 5) + ["visit"] * r(0, 2)
            + ["pricing"] * (p() < 0.3) + ["download"] * (p() < 0.3) + ["reply:ambiguous"] * (p() < 0.15)
            + ["event"] * (p() < 0.1) + ["webdl"] * (p() < 0.2),
            "casual": lambda: ["visit"] * r(0, 2) + [rng.choice(["identify:form_submit", "identify:content_download"])] + ["open"] * r(0, 3),
            "ambiguous": lambda: ["visit"] * r(1, 2) + ["identify:form_submit:ambiguous"] + ["open"] * r(0, 2) + ["chat:ambiguous"] * (p() < 0.3),
            "negative": lambda: ["visit", "identify:content_download"] + ["open"] * r(1, 3)
            + (["reply:negative", "unsub"] if p() < 0.7 else ["consent_no:negative"]),
            "reconsent": lambda: ["visit", "identify:content_download", "open", "unsub", "visit", "consent_yes", "open"],
            "job": lambda: ["careers"] * r(1, 2) + ["identify:form_submit:job"],
            "vendor": lambda: ["identify:form_submit:vendor"],
            "spam": lambda: ["identify:form_submit:spam"] * r(1, 2),
            "support": lambda: ["visit", "identify:chat:support"],
            "high_fit_low": lambda: ["identify", "email_click"],
        }[a]()
        span = {"hot": 35, "warm": 80, "casual": 25, "ambiguous": 30, "negative": 40, "reconsent": 80}.get(a, 5)
        self._play(lead, max(self.oldest, lead.end - rng.uniform(0.3, 1) * span * DAY), lead.end, steps)

    def _play(self, lead: _Lead, start: float, end: float, steps: list[str]) -> None:
        rng = self.rng
        times = sorted(min(end, self._daytime(start + (end - start) * rng.random())) for _ in steps)
        for ts, step in zip(times, steps, strict=True):
            kind, _, arg = step.partition(":")
            if kind == "identify":  # arg: "<form event type>[:<intent>]" or "chat:<intent>"
                etype, _, intent = arg.partition(":")
                kind = "chat" if etype == "chat" else lead.channel
                if kind == "form":
                    self.form(ts, lead, etype or "form_submit", intent or ("intent" if lead.arch == "hot" and rng.random() < 0.3 else ""))
                    continue
                arg = intent or ("intent" if lead.arch == "hot" else "question")
            if kind == "visit" or kind == "careers":
                self.session(ts, lead, ["/careers", "/careers/sales-development-representative"] if kind == "careers" else None)
            elif kind == "pricing":
                self.web(ts - rng.uniform(30, 300), lead.anon, "page_view", rng.choice(PAGES))
                self.web(ts, lead.anon, "pricing_view", rng.choice(PRICING))
            elif kind == "webdl":
                self.web(ts, lead.anon, "content_download", rng.choice(RESOURCES))
            elif kind == "download":
                self.form(ts, lead, "content_download", "")
            elif kind == "demo":
                self.form(ts, lead, "demo_request", arg)
            elif kind == "consent_no":
                self.form(ts, lead, "form_submit", arg, consent="no", page="/preferences")
            elif kind == "consent_yes":
                self.form(ts, lead, "form_submit", "", consent="yes", page="/webinars/lead-scoring")
            elif kind == "open":
                self.email(ts, lead, "email_open")
            elif kind == "reply":
                self.email(ts, lead, "email_reply", self.message(arg))
            elif kind == "unsub":
                self.email(ts, lead, "unsubscribe")
            elif kind == "chat":
                self.chat(ts, lead, arg)
            elif kind == "meet":
                self.crm(ts, lead, "meeting_request", self.message("crm"))
            elif kind == "crm":
                self.crm(ts, lead, "contact_created", rng.choice(["Imported from partner list", "Added by SDR from LinkedIn", ""]))
            elif kind == "event":
                self.event(ts, lead)
            elif kind == "email_click":  # tracked link: web analytics sees the cookie and the email together
                self.web(ts, lead.anon, "page_view", rng.choice(PAGES), utm=("email", "event-follow-up"), email=lead.email)

    def _daytime(self, ts: float) -> float:
        """Most people engage in working hours (06:00-20:00 UTC covers Europe and the US east coast)."""
        if self.rng.random() < 0.15:
            return ts
        return ts - ts % DAY + self.rng.uniform(6, 20) * 3600

    def message(self, intent: str) -> str:
        return self.rng.choice(MESSAGES[intent]).replace("{n}", str(self.rng.choice([12, 25, 40, 80, 120, 200, 350, 500])))

    # ---------------------------------------------------------------- records
    def _next(self, source: str) -> int:
        self.counter[source] += 1
        return self.counter[source]

    def web(self, ts: float, anon: str, etype: str, url: str, utm: tuple = ("", ""), email: str = "", referrer: str = "") -> None:
        """One web-analytics line; every value is generated ASCII without quotes, so it is formatted directly (fast)."""
        self.seen_anon.add(anon)
        line = (f'{{"event_id": "wv_{_perm(self._next("web"), 1):012x}", "source": "web", "event_type": "{etype}", '
                f'"occurred_at": "{_base(ts)}.{int(ts * 1000) % 1000:03d}Z", "anonymous_id": "{anon}", "page_url": "{SITE}{url}"')
        if email:
            self.linked_anon.add(anon)
            line += f', "email": "{email}"'
        if utm[0]:
            line += f', "utm_source": "{utm[0]}", "utm_campaign": "{utm[1]}"'
        if referrer:
            line += f', "referrer": "{referrer}"'
        self.out["web_visits.jsonl"].append((ts, line + "}"))

    def session(self, ts: float, lead: _Lead | None, pages: list[str] | None = None, anon: str = "") -> None:
        rng = self.rng
        utm = rng.choice(UTM)
        if lead is not None:  # campaign tags only on the first landing; forms keep them as hidden fields
            anon, utm, lead.landed = lead.anon, ("", "") if lead.landed else lead.utm, True
        referrer = rng.choice(["https://www.google.com/", "https://www.linkedin.com/", "https://news.ycombinator.com/"]) if rng.random() < 0.1 else ""
        for k in range(rng.choice((1, 1, 1, 2, 2, 3, 4)) if pages is None else len(pages)):
            self.web(ts, anon, "page_view", pages[k] if pages else rng.choice(PAGES), utm if k == 0 else ("", ""), referrer=referrer if k == 0 else "")
            ts += rng.uniform(15, 240)

    def form(self, ts: float, lead: _Lead, etype: str, intent: str, consent: str = "", page: str = "") -> None:
        rng = self.rng
        if not page:
            page = {"demo_request": "/demo", "content_download": rng.choice(RESOURCES)}.get(etype) or rng.choice(["/contact", "/newsletter"])
            self.web(ts - rng.uniform(20, 150), lead.anon, "page_view", page)
        email = lead.email
        if rng.random() < 0.06:
            email = email.split("@")[0].title() + email[email.index("@"):] if rng.random() < 0.5 else email + " "
        domain = lead.domain
        if domain and rng.random() < 0.06:
            domain = rng.choice([f"www.{domain}", f"https://{domain}/", domain.upper()])
        size = "" if lead.no_size else _size_text(lead.employees, lead.size_style)
        anon = lead.anon if rng.random() < 0.95 else ""  # some browsers block the tracking cookie
        if anon:
            self.linked_anon.add(anon)
        row = [f"ff-{100000 + self._next('form')}", "form", etype, _local(ts, "eu1"), email, anon, lead.first, lead.last,
               lead.title, lead.phone, lead.typed_company, domain, size, lead.industry, lead.country, SITE + page,
               self.message(intent) if intent else "", *lead.utm, consent or ("no" if rng.random() < 0.04 else "yes"),
               rng.choice(["webinar-q3", "partner: Northwind", "paid social, retargeting"]) if rng.random() < 0.15 else ""]
        self.out["form_fills.csv"].append((ts, row))

    def email(self, ts: float, lead: _Lead, etype: str, message: str = "") -> None:
        eid, campaign = f"em_{_perm(self._next('email'), 2):012x}", self.rng.choice(CAMPAIGNS)
        if etype == "email_open":  # the bulk of this file: plain ASCII values, formatted directly
            line = (f'{{"event_id": "{eid}", "source": "email", "event_type": "email_open", "occurred_at": "{_base(ts)}Z", '
                    f'"email": "{lead.email}", "utm_campaign": "{campaign}"}}')
            self.out["email_engagement.jsonl"].append((ts, line))
            return
        rec = {"event_id": eid, "source": "email", "event_type": etype, "occurred_at": _base(ts) + "Z", "email": lead.email,
               "utm_campaign": campaign}
        if message:
            rec["message"] = message
            rec["subject"] = "Re: " + campaign.replace("-", " ").capitalize()
        if etype == "unsubscribe":
            rec["consent"] = False
        self.out["email_engagement.jsonl"].append((ts, self.dumps(rec)))

    def chat(self, ts: float, lead: _Lead | None, intent: str, anon: str = "") -> None:
        """A visitor's side of one chat: anonymous questions, then (for a lead) the email and the real ask."""
        rng = self.rng
        conv = f"cv_{_perm(self._next('chat'), 3):010x}"
        lines = [(True, self.message("question"))] if lead is None or rng.random() < 0.6 else []
        if lead is not None:
            lines.append((False, self.message(intent) + f" My email is {lead.email}" * (rng.random() < 0.3)))
        ts -= 60 * len(lines)
        for k, (anonymous, text) in enumerate(lines, 1):
            rec = {"event_id": f"{conv}-{k}", "source": "chat", "event_type": "chat_message",
                   "occurred_at": f"{_base(ts)}.{int(ts * 1e6) % 1000000:06d}+00:00",
                   "anonymous_id": lead.anon if lead else anon, "email": None if anonymous or lead is None else lead.email,
                   "message": text, "conversation_id": conv}
            self.seen_anon.add(rec["anonymous_id"])
            if lead is not None and not anonymous:
                self.linked_anon.add(lead.anon)
                rec.update(first_name=lead.first, company=lead.typed_company or None, consent=True)
            self.out["chat_transcripts.jsonl"].append((ts, self.dumps(rec)))
            ts += self.rng.uniform(20, 90)

    def crm(self, ts: float, lead: _Lead, etype: str, message: str) -> None:
        size = "" if lead.no_size else _size_text(lead.employees, "exact")
        row = [f"00U{_perm(self._next('crm'), 4):012X}", "crm", etype, _base(ts), lead.email, lead.first, lead.last,
               lead.title, lead.phone, lead.company, lead.domain, size, lead.industry, lead.country, message,
               self.rng.choices(["true", "", "false"], [87, 10, 3])[0], self.rng.choice(OWNERS)]
        self.out["crm_events.csv"].append((ts, row))

    def event(self, ts: float, lead: _Lead) -> None:
        """Registration for the conference nearest to ts, and (usually) the badge scan on the day."""
        rng = self.rng
        code, name, days, zone = min(EVENTS, key=lambda e: abs(self.now - e[2] * DAY - ts))
        day = self.now - days * DAY
        size = "" if lead.no_size else _size_text(lead.employees, "round")
        registered = max(self.oldest, min(ts, day) - rng.uniform(3, 30) * DAY)
        for etype, when in (("event_registration", registered), ("event_attended", day + rng.uniform(0, 8) * 3600)):
            if etype == "event_attended" and (rng.random() < 0.2 or when > self.now):
                continue
            row = [f"att-{code}-{self._next('event'):05d}", "event", etype, _local(when, zone), lead.email, lead.first,
                   lead.last, lead.title, lead.typed_company, size, lead.country, rng.choice(["1", "1", "1", "0", ""]), code, name]
            self.out["event_attendance.csv"].append((when, row))

    def anonymous_visitor(self) -> None:
        """A visitor who never says who they are: a few sessions, now and then a chat question."""
        rng, anon = self.rng, self._anon()
        ts = self._daytime(self.now - rng.uniform(1, 355) * DAY)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            self.session(ts, None, anon=anon)
            ts = min(self.now - 0.1 * DAY, ts + rng.uniform(0.5, 20) * DAY)
        if rng.random() < 0.04:
            self.chat(ts, None, "question", anon=anon)

    # ---------------------------------------------------------------- deliberately bad records
    def spoil(self, people: list[_Lead], per_kind: int) -> dict[str, list[tuple[int, object, str]]]:
        """Bad records to slot in, as {file: [(before good row, payload, kind)]}; field issues are made in place."""
        rng = self.rng
        inserts: dict[str, list[tuple[int, object, str]]] = {name: [] for name in FILES}
        for kind, (name, outcome, _) in BAD_KINDS.items():
            rows = self.out[name]
            for _ in range(per_kind):
                lead, ts = rng.choice(people), self.now - rng.uniform(1, 300) * DAY
                i = rng.randrange(len(rows)) if rows else -1
                if outcome == "field_issue":
                    col, value = (12, "lots") if kind == "company_size_lots" else (11, "maybe")
                    free = [j for j in rng.sample(range(len(rows)), min(len(rows), 50)) if rows[j][1][col] and j not in self.marked[name]]
                    if free:
                        rows[free[0]][1][col] = value
                        self.marked[name][free[0]] = kind
                elif i >= 0 or kind not in ("invalid_json", "exact_duplicate", "conflicting_duplicate"):
                    start = i + 1 if outcome in ("duplicate", "conflict") else 0
                    inserts[name].append((rng.randint(start, len(rows)), self._bad(kind, lead, ts, rows[i] if rows else None), kind))
        return inserts

    def _bad(self, kind: str, lead: _Lead, ts: float, good: tuple | None) -> object:
        """One bad record; `good` is a (time, payload) the duplicates and the cut-off line are made from."""
        rng = self.rng
        if kind == "exact_duplicate":
            return good[1]
        if kind == "conflicting_duplicate":  # the CRM re-exported the meeting after someone edited it
            row = list(good[1])
            row[3], row[14] = _base(good[0] + 3600), (row[14] + " Rescheduled.").strip()
            return row
        if kind == "invalid_json":
            rec = json.loads(good[1])
            rec["event_id"] = f"wv_{_perm(self._next('web'), 1):012x}"
            line = self.dumps(rec)
            return line[: len(line) * 2 // 3]
        if kind == "missing_event_id":
            return self.dumps({"source": "email", "event_type": "email_open", "occurred_at": _base(ts) + "Z",
                               "email": lead.email, "utm_campaign": rng.choice(CAMPAIGNS)})
        if kind == "bad_timestamp":
            return self.dumps({"event_id": f"cv_{_perm(self._next('chat'), 3):010x}-1", "source": "chat",
                               "event_type": "chat_message", "occurred_at": "yesterday", "anonymous_id": lead.anon,
                               "email": lead.email, "message": self.message("question")})
        if kind == "invalid_email":
            return [f"ff-{100000 + self._next('form')}", "form", "form_submit", _local(ts, "eu1"), "bob@@example", "",
                    "Bob", rng.choice(LAST), "", "", "", "", "", "", "", SITE + "/contact", "", "", "", "yes", ""]
        if kind == "unknown_source":
            return [f"00U{_perm(self._next('crm'), 4):012X}", "fax", "form_submit", _base(ts), lead.email, lead.first,
                    lead.last, lead.title, "", lead.company, lead.domain, "", "", "", "Order form received by fax", "", ""]
        return [f"att-walk-in-{self._next('event'):05d}", "event", "event_attended", _local(ts, "utc"), "", lead.first,
                lead.last, lead.title, lead.company, "", lead.country, "", "revops-summit-berlin", "RevOps Summit Berlin"]


def _merge(rows: list, inserts: list[tuple[int, object, str]], marked: dict[int, str]) -> tuple[list, dict[int, str]]:
    """Good rows (already sorted) with bad ones slotted in; returns payloads and {final index: kind}."""
    inserts = sorted(inserts, key=lambda item: item[0])
    out, kinds, k = [], {}, 0
    for j, (_, payload) in enumerate(rows):
        while k < len(inserts) and inserts[k][0] == j:
            kinds[len(out)] = inserts[k][2]
            out.append(inserts[k][1])
            k += 1
        if j in marked:
            kinds[len(out)] = marked[j]
        out.append(payload)
    for _, payload, kind in inserts[k:]:
        kinds[len(out)] = kind
        out.append(payload)
    return out, kinds


def _write_file(path: Path, payloads: list, kinds: dict[int, str]) -> list[BadRecord]:
    """Write one export; returns where its bad records ended up (physical lines)."""
    name, bad = path.name, []
    if name.endswith(".jsonl"):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(line + "\n" for line in payloads)
        return [BadRecord(name, i + 1, kind, BAD_KINDS[kind][1]) for i, kind in sorted(kinds.items())]
    columns = COLUMNS[name]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        # the event platform exports like a spreadsheet: CRLF line ends
        writer = csv.writer(fh, lineterminator="\r\n" if name == "event_attendance.csv" else "\n")
        writer.writerow(columns)
        writer.writerows(payloads)
    if kinds:
        msg = columns.index("message") if "message" in columns else None
        line = 2
        for i, row in enumerate(payloads):
            if i in kinds:
                bad.append(BadRecord(name, line, kinds[i], BAD_KINDS[kinds[i]][1]))
            line += 1 + (row[msg].count("\n") if msg is not None else 0)
    return bad


def _expected_md(report: SampleReport, seed: int, now: datetime) -> str:
    lines = [f"# What this sample contains (seed {seed}, leads {report.leads}, ending {now.isoformat()})", "",
             "Generated by `leadgate.sample.write_sample`; do not edit by hand. Counts are records (a CSV record",
             "may span lines: messages contain newlines).", "", "| file | records |", "| --- | ---: |"]
    lines += [f"| {name} | {count} |" for name, count in report.files.items()]
    lines += [f"| **total** | **{report.records}** |", "",
              f"Expected at ingest: accepted {report.expected_accepted}, rejected {report.expected_rejects}, "
              f"duplicates {report.expected_duplicates} (of which conflicting {report.expected_conflicts}), "
              f"field issues {report.expected_field_issues}; identified leads {report.leads}, "
              f"anonymous visitors never identified {report.anonymous_visitors}.", "",
              "Deliberately bad records (line = physical line, CSV header is line 1):", "",
              "| kind | file | expected | count | lines |", "| --- | --- | --- | ---: | --- |"]
    for kind, (name, outcome, what) in BAD_KINDS.items():
        at = [b.line for b in report.bad if b.kind == kind]
        shown = ", ".join(map(str, at[:6])) + (", ..." if len(at) > 6 else "")
        lines.append(f"| {kind}: {what} | {name} | {outcome} | {len(at)} | {shown} |")
    lines += ["", "Unknown extra fields kept in `extra`: `lead_source_detail` (form_fills.csv), `sfdc_owner` (crm_events.csv),",
              "`event_name` (event_attendance.csv), `referrer` (web_visits.jsonl), `subject` (email_engagement.jsonl),",
              "`conversation_id` (chat_transcripts.jsonl).", ""]
    return "\n".join(lines)


def write_sample(out_dir: Path, *, leads: int, seed: int = SAMPLE_SEED, bad_records: bool = True,
                 now: datetime | None = None) -> SampleReport:
    """Write one export per source plus EXPECTED.md into out_dir; same arguments, same bytes (now defaults to SAMPLE_NOW)."""
    if leads < 1:
        raise ValueError(f"leads must be at least 1, got {leads}")
    now = SAMPLE_NOW if now is None else now if now.tzinfo else now.replace(tzinfo=UTC)
    gen = _Generator(seed, now, leads)
    people = gen.plan(leads)
    for lead in people:
        gen.journey(lead)
    for _ in range(leads // 4):
        gen.anonymous_visitor()
    for rows in gen.out.values():
        rows.sort(key=lambda item: item[0])
    for i, (_, row) in enumerate(gen.out["form_fills.csv"]):  # form tools number submissions in time order
        row[0] = f"ff-{100001 + i}"
    for i, (_, row) in enumerate(gen.out["event_attendance.csv"]):
        row[0] = f"att-{row[12]}-{i + 1:05d}"
    events = sum(len(rows) for rows in gen.out.values())
    inserts = gen.spoil(people, max(1, round(events * BAD_SHARE / len(BAD_KINDS)))) if bad_records else {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files, bad = {}, []
    for name in FILES:
        payloads, kinds = _merge(gen.out[name], inserts.get(name, []), gen.marked[name])
        files[name] = len(payloads)
        bad += _write_file(out_dir / name, payloads, kinds)
    outcomes = [b.outcome for b in bad]
    report = SampleReport(
        out_dir=out_dir, files=files, leads=len(people), anonymous_visitors=len(gen.seen_anon - gen.linked_anon),
        bad_records=len(bad), expected_rejects=outcomes.count("reject"), expected_field_issues=outcomes.count("field_issue"),
        expected_duplicates=outcomes.count("duplicate") + outcomes.count("conflict"),
        expected_conflicts=outcomes.count("conflict"), bad=tuple(bad))
    (out_dir / "EXPECTED.md").write_text(_expected_md(report, seed, now), encoding="utf-8")
    return report
