"""What the synthetic sample is made of: export files, word lists (people, companies, pages, messages), value formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

FILES = (
    "web_visits.jsonl",
    "form_fills.csv",
    "email_engagement.jsonl",
    "chat_transcripts.jsonl",
    "crm_events.csv",
    "event_attendance.csv",
)
DAY = 86400.0
SITE = "https://www.pipewise.example"

FIRST = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Mateo",
    "Sofia",
    "Leon",
    "Hannah",
    "Jonas",
    "Chloé",
    "Louis",
    "Aisha",
    "Omar",
    "Priya",
    "Arjun",
    "Mei",
    "Wei",
    "Yuki",
    "Haruto",
    "Zoë",
    "Jürgen",
    "Léa",
    "José",
    "María",
    "Carlos",
    "Ana",
    "Pedro",
    "Fatima",
    "Youssef",
    "Ingrid",
    "Lars",
    "Astrid",
    "Nils",
    "Siobhan",
    "Declan",
    "Aoife",
    "Ciarán",
    "Grace",
    "Henry",
    "Charlotte",
    "Oliver",
    "Amelia",
    "George",
    "Isla",
    "Jack",
    "Sophie",
    "Daniel",
    "Laura",
    "Marco",
    "Giulia",
    "Tomasz",
    "Katarzyna",
    "Piotr",
    "Sanne",
    "Daan",
    "Femke",
    "Bram",
    "Camille",
    "Hugo",
    "Manon",
    "Jules",
    "Elena",
    "Dmitri",
    "Olga",
    "Kwame",
    "Ama",
    "Chidi",
    "Ngozi",
    "Tariq",
    "Leila",
    "Diego",
    "Valentina",
    "Samuel",
    "Rachel",
    "Ethan",
    "Maya",
    "Noor",
    "Ravi",
    "Ananya",
    "Kenji",
    "Sakura",
    "Min-jun",
    "Ji-woo",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martínez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Dubois",
    "Moreau",
    "Laurent",
    "Lefèvre",
    "Rossi",
    "Russo",
    "Ferrari",
    "Bianchi",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "de_Vries",
    "Jansen",
    "van_Dijk",
    "Bakker",
    "Visser",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Byrne",
    "Patel",
    "Sharma",
    "Singh",
    "Gupta",
    "Khan",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Kim",
    "Park",
    "Nguyen",
    "Okafor",
    "Mensah",
    "Haddad",
    "Silva",
    "Santos",
    "Oliveira",
    "Costa",
    "Ivanova",
    "Novak",
]
PREFIX = [
    "Acme",
    "Northwind",
    "Bluefin",
    "Silverline",
    "Redwood",
    "Brightwater",
    "Ironbridge",
    "Cobalt",
    "Summit",
    "Evergreen",
    "Harbor",
    "Granite",
    "Lumen",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quantum",
    "Riverstone",
    "Sapphire",
    "Tidewater",
    "Vertex",
    "Willow",
    "Zenith",
    "Aurora",
    "Beacon",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Glacier",
    "Horizon",
    "Indigo",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Nova",
    "Oakridge",
    "Pinnacle",
    "Quarry",
    "Radiant",
    "Sequoia",
    "Trident",
    "Unity",
    "Vantage",
    "Westbrook",
    "Alder",
    "Birch",
    "Copper",
    "Driftwood",
    "Eastgate",
    "Foxglove",
    "Greenfield",
    "Highland",
    "Ivory",
    "Jade",
    "Kestrel",
    "Lighthouse",
    "Maple",
    "Northstar",
    "Orbit",
    "Pacific",
]
CORE = [
    c.split(":")
    for c in (
        "Robotics:Manufacturing Logistics:Logistics Health:Healthcare Analytics:Software Software:Software Foods:Retail "
        "Capital:Financial Services Energy:Energy Pharma:Pharmaceuticals Media:Media Retail:Retail Motors:Manufacturing "
        "Cloud:SaaS Systems:Software Networks:Telecommunications Insurance:Financial Services Bank:Financial Services "
        "Learning:Education Security:Software Devices:Manufacturing Materials:Manufacturing Biotech:Pharmaceuticals "
        "Freight:Logistics Telecom:Telecommunications Payments:Fintech Apparel:Retail Hotels:Hospitality "
        "Consulting:Consulting Engineering:Manufacturing Marine:Logistics Aerospace:Manufacturing Textiles:Manufacturing "
        "Chemicals:Manufacturing Games:Media Dental:Healthcare Clinics:Healthcare Realty:Real Estate Water:Energy "
        "Solar:Energy Semiconductors:Manufacturing Travel:Hospitality Fitness:Retail Ledger:Fintech Data:SaaS "
        "Insights:SaaS Commerce:Retail Mobility:Logistics"
    )
    .replace("Financial Services", "Financial_Services")
    .replace("Real Estate", "Real_Estate")
    .split()
]
QUALIFIER = ["", "Group", "Labs", "Holdings", "Partners", "International", "Digital", "Works", "Solutions"]
COUNTRIES = {
    "US": 35,
    "GB": 12,
    "DE": 12,
    "FR": 6,
    "NL": 5,
    "CA": 5,
    "AU": 4,
    "SE": 3,
    "IE": 2,
    "ES": 3,
    "IN": 5,
    "BR": 3,
    "JP": 2,
    "SG": 2,
    "PL": 1,
}
TLD = {"DE": ".de", "GB": ".co.uk", "FR": ".fr", "NL": ".nl", "SE": ".se", "ES": ".es", "PL": ".pl", "AU": ".com.au"}
FREEMAIL = ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "proton.me", "gmx.de", "hotmail.co.uk"]
SIZE_BUCKETS = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, 120000)]
SIZE_WEIGHTS = [10, 22, 25, 15, 10, 11, 4, 3]
TITLES = {  # seniority -> (weight, titles)
    "c": (
        6,
        "CEO|Chief Executive Officer|CFO|CTO|COO|Chief Revenue Officer|Chief Marketing Officer|Founder & CEO|Co-Founder",
    ),
    "vp": (
        9,
        "VP Sales|VP of Marketing|Vice President, Sales|SVP Operations|VP Engineering|VP Revenue Operations|EVP, Commercial",
    ),
    "dir": (
        15,
        "Director of IT|Sales Director|Director, Demand Generation|Head of Sales|Head of Marketing|IT Director|Head of Data",
    ),
    "mgr": (
        27,
        "Marketing Manager|Sales Manager|IT Manager|Revenue Operations Manager|Product Manager|Account Manager|Team Lead, Inside Sales",
    ),
    "ind": (
        33,
        "Analyst|Business Analyst|Account Executive|Sales Development Representative|Software Engineer|Marketing Specialist|Data Analyst|Consultant",
    ),
    "unk": (10, "Student|Freelancer|Growth Ninja|Other|||"),
}
PAGES = [
    "/",
    "/product",
    "/product/lead-scoring",
    "/integrations/salesforce",
    "/integrations/hubspot",
    "/customers",
    "/blog/what-is-an-mql",
    "/blog/buying-committees-2026",
    "/blog/lead-scoring-models",
    "/about",
    "/security",
]
PRICING = ["/pricing", "/pricing#enterprise", "/pricing?plan=team"]
RESOURCES = [
    "/resources/lead-scoring-playbook.pdf",
    "/resources/state-of-revops-2026.pdf",
    "/resources/roi-calculator.xlsx",
    "/resources/buyer-guide-enterprise.pdf",
]
UTM = [
    ("google", "brand-search-2026"),
    ("linkedin", "abm-enterprise-q3"),
    ("newsletter", "monthly-digest"),
    ("g2", "review-profile"),
    ("partner", "partner-referral"),
    ("", ""),
    ("", ""),
    ("", ""),
]
CAMPAIGNS = [
    "monthly-digest",
    "webinar-invite-lead-scoring",
    "case-study-logistics",
    "pricing-update-2026",
    "nurture-1-welcome",
    "nurture-2-playbook",
    "nurture-3-roi",
    "event-follow-up",
]
EVENTS = [
    ("revops-summit-berlin", "RevOps Summit Berlin", 40, "eu1"),
    ("webinar-lead-scoring", "Webinar: Lead scoring sales trusts", 12, "utc"),
    ("data-leaders-london", "Data Leaders London", 220, "eu0"),
    ("saas-growth-nyc", "SaaS Growth Day NYC", 300, "us"),
    ("pipeline-live-q2", "Pipeline Live (online)", 150, "utc"),
]
OWNERS = ["005A1 Jordan Reyes", "005A2 Sam Whitfield", "005A3 Priya Nair", ""]
MESSAGES = {
    "intent": [
        "We'd like a demo for our {n}-person sales team next week.",
        "Can you send pricing for {n} seats? We are choosing a vendor this quarter.",
        'Evaluating you vs. two others, need "Enterprise" pricing, SSO and a DPA. Budget approved.',
        "Hi,\nwe're ready to run a pilot with {n} reps. Who handles procurement?\nThanks",
        "Our contract with the current tool ends in January. Please call me about a migration, {n} users.",
        "What does the Team plan cost for {n} users, billed annually?",
        "Do you integrate with Salesforce? We have {n} reps and want to see pricing.",
    ],
    "ambiguous": [
        "Just looking around, maybe next year.",
        "Interesting, not sure we have budget. Can you send some info?",
        "Downloading this for a colleague, they might reach out.",
        "We're a small team, probably too early for us, but curious.",
        'Researching options for "someday", nothing planned yet.',
    ],
    "negative": [
        "Not interested, please remove me from your list.",
        "Stop emailing me.",
        "We signed with another vendor last month, no thanks.",
        "Please unsubscribe me, this is not relevant to my role.",
    ],
    "job": [
        "Hi, I'm applying for the Sales Development Representative role, where can I send my CV?",
        "Are you hiring data engineers? I'd love to join, resume attached.",
    ],
    "vendor": [
        "We help companies like yours 10x outbound with AI SDRs, 15 minutes next week?",
        "Quick question: who buys your office supplies? 20% off your first order, this week only.",
    ],
    "spam": [
        "B3ST SEO backlinks!!! cheap, visit http://cheap-links.example.net now",
        "Congratulations, you won a $500 gift card, click http://prize.example.org",
    ],
    "support": [
        "I'm an existing customer and can't log in since yesterday, please help.",
        "How do I export my reports to CSV? Our admin is out.",
    ],
    "crm": [
        "Discovery call booked by SDR: wants pricing for {n} seats.",
        "Inbound call, evaluating 3 vendors; decision this quarter.",
        "Call notes:\n- {n} reps, Salesforce shop\n- budget approved, wants a demo next week",
        "Met at our booth, asked for a follow-up meeting.",
    ],
    "question": ["Do you integrate with HubSpot?", "Is there a free trial?", "Where is your data hosted, EU or US?"],
}
ARCHETYPES = {
    "hot": 14,
    "warm": 30,
    "casual": 28,
    "ambiguous": 8,
    "negative": 6,
    "reconsent": 1,
    "job": 1,
    "vendor": 1,
    "spam": 1,
    "support": 2,
    "high_fit_low": 3,
    "dormant": 5,
}
GUARANTEED = [
    "hot",
    "hot",
    "hot",
    "warm",
    "casual",
    "ambiguous",
    "negative",
    "negative",
    "reconsent",
    "job",
    "vendor",
    "spam",
    "support",
    "high_fit_low",
    "high_fit_low",
    "dormant",
    "dormant",
    "warm",
    "hot",
    "casual",
]
GUARANTEED_CHANNEL = {0: "chat", 1: "crm", 3: "event", 18: "form"}
_MASK48 = (1 << 48) - 1


def opaque_id(n: int, salt: int) -> int:
    """A bijection of n (for fixed salt): unique ids that do not look sequential."""
    return ((n + salt * 0x1000003) * 0x9E3779B97F4A7C15) & _MASK48


@lru_cache(maxsize=64)
def _dst(zone: str, year: int) -> tuple[float, float]:
    """UTC start and end of summer time (EU: last Sundays of March/October; US: 2nd Sunday March, 1st Sunday November)."""
    if zone == "us":
        mar = date(year, 3, 8) + timedelta((6 - date(year, 3, 8).weekday()) % 7)
        nov = date(year, 11, 1) + timedelta((6 - date(year, 11, 1).weekday()) % 7)
        return (
            datetime(mar.year, 3, mar.day, 7, tzinfo=UTC).timestamp(),
            datetime(nov.year, 11, nov.day, 6, tzinfo=UTC).timestamp(),
        )
    ends = [date(year, m, 31) - timedelta((date(year, m, 31).weekday() + 1) % 7) for m in (3, 10)]
    return tuple(datetime(d.year, d.month, d.day, 1, tzinfo=UTC).timestamp() for d in ends)  # type: ignore[return-value]


def utc_text(ts: float) -> str:
    """UTC ISO timestamp to the second, without an offset: each source appends its own."""
    return datetime.fromtimestamp(int(ts), UTC).isoformat()[:19]


def local_text(ts: float, zone: str) -> str:
    """ISO timestamp in a zone's local time with its offset (eu1 = Berlin, eu0 = London, us = New York)."""
    if zone == "utc":
        return utc_text(ts) + "Z"
    start, end = _dst(zone, datetime.fromtimestamp(ts, UTC).year)
    hours = {"eu1": 1, "eu0": 0, "us": -5}[zone] + (start <= ts < end)
    return utc_text(ts + hours * 3600) + (f"+{hours:02d}:00" if hours >= 0 else f"-{-hours:02d}:00")


def size_text(employees: int, style: str) -> str:
    """A headcount as a source writes it: a bucket range, two significant digits, or exact."""
    if style == "range":
        lo, hi = next(b for b in SIZE_BUCKETS if employees <= b[1])
        return "10000+" if lo > 10000 else f"{lo}-{hi}"
    if style == "round":
        return str(round(employees, 1 - len(str(employees)) + 1) or employees)
    return str(employees)
