"""Synthetic leads and their journeys: who they are, what they do, and the records each source exports along the way."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime

from leadgate.config import REFERENCE_DIR
from leadgate.sample.vocab import (
    ARCHETYPES,
    CAMPAIGNS,
    CORE,
    COUNTRIES,
    DAY,
    EVENTS,
    FILES,
    FIRST,
    FREEMAIL,
    GUARANTEED,
    GUARANTEED_CHANNEL,
    LAST,
    MESSAGES,
    OWNERS,
    PAGES,
    PREFIX,
    PRICING,
    QUALIFIER,
    RESOURCES,
    SITE,
    SIZE_BUCKETS,
    SIZE_WEIGHTS,
    TITLES,
    TLD,
    UTM,
    local_text,
    opaque_id,
    size_text,
    utc_text,
)

_FOLD = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        "é": "e",
        "è": "e",
        "ë": "e",
        "á": "a",
        "í": "i",
        "ó": "o",
        "ñ": "n",
        "ç": "c",
        "ś": "s",
        "ł": "l",
        "ø": "o",
        "'": "",
        " ": "",
        "-": "",
    }
)


class SampleLead:
    """One synthetic lead: who they are, where they work, and how their journey should go."""

    __slots__ = (
        "anon",
        "arch",
        "channel",
        "company",
        "country",
        "domain",
        "email",
        "employees",
        "end",
        "first",
        "industry",
        "landed",
        "last",
        "no_size",
        "phone",
        "size_style",
        "title",
        "typed_company",
        "utm",
    )


class JourneyGenerator:
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
            prefix, core, qual = (
                PREFIX[k % len(PREFIX)],
                CORE[k // len(PREFIX) % len(CORE)],
                QUALIFIER[k // len(PREFIX) // len(CORE)],
            )
            name = " ".join(w for w in (prefix, core[0], qual) if w)
            country = rng.choices(list(COUNTRIES), list(COUNTRIES.values()))[0]
            tld = (
                TLD.get(country, ".com")
                if rng.random() < 0.6
                else (".io" if core[1] in ("Software", "SaaS") else ".com")
            )
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
        industries = {
            "umbrella": "Pharmaceuticals",
            "globex": "Logistics",
            "stark": "Energy",
            "soylent": "Retail",
            "wayne": "Manufacturing",
            "tyrell": "Manufacturing",
        }
        rng = self.rng
        return [
            (
                name,
                domain,
                industries.get(domain.split("-")[0].split(".")[0], "Software"),
                "DE" if domain.endswith(".de") else rng.choice(["US", "US", "GB"]),
                rng.choice([1200, 3500, 8000, 25000, 90000]),
            )
            for domain, name in sorted(names.items())
        ]

    def _person(self, arch: str, company: tuple | None, freemail: bool) -> SampleLead:
        rng, lead = self.rng, SampleLead()
        lead.first, lead.last = rng.choice(FIRST), rng.choice(LAST).replace("_", " ")
        seniority = rng.choices(list(TITLES), [w for w, _ in TITLES.values()])[0]
        if arch == "high_fit_low":
            seniority = rng.choice(["c", "vp"])
        lead.title = rng.choice(TITLES[seniority][1].split("|"))
        if arch in ("job", "spam"):
            lead.title, freemail, company = rng.choice(["Student", "", "Sales Associate"]), True, None
        if arch == "vendor":
            company = rng.choice(
                [
                    ("GrowthPilot AI", "growthpilot-ai.com", "Software", "US", 40),
                    ("OfficeSupply Direct", "officesupply-direct.co.uk", "Retail", "GB", 120),
                ]
            )
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
        lead.company, lead.domain, lead.industry, lead.country, lead.employees = (
            firm[0],
            firm[1],
            firm[2],
            firm[3],
            firm[4],
        )
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
        lead.phone = (
            ""
            if rng.random() < 0.5
            else f"+1 ({rng.randint(201, 989)}) 555-0{n}"
            if cc in ("US", "CA")
            else f"+44 20 7946 0{n}"
            if cc in ("GB", "IE")
            else f"+61 2 5550 {n}{rng.randint(0, 9)}"
            if cc == "AU"
            else ""
        )
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

    def plan(self, leads: int) -> list[SampleLead]:
        """Guaranteed scenarios, buying centres, people at reference companies, then the rest."""
        rng, people = self.rng, []
        names, weights = list(ARCHETYPES), list(ARCHETYPES.values())
        for k, arch in enumerate(GUARANTEED[:leads]):
            lead = self._person(arch, self._company(arch), False)
            lead.channel = GUARANTEED_CHANNEL.get(k, lead.channel)
            people.append(lead)
        groups = max(3, leads // 80) if leads >= 40 else 0
        for g in range(groups):
            company = (
                rng.choice(self.refs)
                if g == 0
                else rng.choice([c for c in self.companies[:200] if c[4] >= 200] or self.companies)
            )
            centre = self.now - rng.uniform(5, 120) * DAY
            for _ in range(min(rng.randint(3, 6), leads - len(people))):
                lead = self._person(rng.choice(["hot", "warm", "warm", "casual", "ambiguous"]), company, False)
                lead.end = min(self.now - 0.1 * DAY, centre + rng.uniform(-10, 10) * DAY)
                people.append(lead)
        at_refs = max(2 * len(self.refs), leads * 3 // 100) if leads >= 60 else leads // 5
        for k in range(min(at_refs, leads - len(people))):
            arch = rng.choices(names, weights)[0]
            people.append(
                self._person(
                    arch if arch not in ("job", "vendor", "spam") else "warm", self.refs[k % len(self.refs)], False
                )
            )
        for arch in rng.choices(names, weights, k=leads - len(people)):
            people.append(self._person(arch, self._company(arch), rng.random() < 0.1))
        for lead in people:
            if lead.end is None:
                recent = lead.arch in ("hot", "dormant") or (lead.arch == "high_fit_low" and rng.random() < 0.5)
                lead.end = (
                    self.now - (40 if recent else 300) * DAY * rng.random() ** (2 if recent else 1.3) - 0.05 * DAY
                )
        return people

    def _company(self, arch: str) -> tuple:
        if arch == "high_fit_low":
            return self.rng.choice(self.big or self.companies)
        return self.companies[int(len(self.companies) * self.rng.random() ** 2)]

    # ---------------------------------------------------------------- journeys
    def journey(self, lead: SampleLead) -> None:
        """Play one lead's events: anonymous browsing, identification, then engagement (or silence)."""
        rng, a = self.rng, lead.arch
        r, p = rng.randint, rng.random
        if a == "dormant":  # two bursts more than 90 days apart
            t2 = lead.end - rng.uniform(2, 20) * DAY
            t1 = t2 - rng.uniform(95, 200) * DAY
            self._play(
                lead,
                t1 - rng.uniform(1, 20) * DAY,
                t1,
                ["visit"] * r(1, 3) + ["identify:content_download"] + ["open"] * r(1, 3),
            )
            self._play(
                lead, t2, lead.end, ["visit", "pricing", rng.choice(["demo:intent", "reply:intent", "chat:intent"])]
            )
            return
        steps = {
            "hot": lambda: (
                ["visit"] * r(1, 3)
                + ["pricing"] * r(1, 2)
                + [rng.choice(["identify:content_download", "identify:form_submit"])]
                + ["open"] * r(1, 3)
                + ["visit", "pricing", "demo:intent"]
                + ["reply:intent"] * (p() < 0.5)
                + ["meet"] * (p() < 0.4)
                + ["chat:intent"] * (p() < 0.2)
            ),
            "warm": lambda: (
                ["visit"] * r(1, 3)
                + ["identify:content_download"]
                + ["open"] * r(2, 5)
                + ["visit"] * r(0, 2)
                + ["pricing"] * (p() < 0.3)
                + ["download"] * (p() < 0.3)
                + ["reply:ambiguous"] * (p() < 0.15)
                + ["event"] * (p() < 0.1)
                + ["webdl"] * (p() < 0.2)
            ),
            "casual": lambda: (
                ["visit"] * r(0, 2)
                + [rng.choice(["identify:form_submit", "identify:content_download"])]
                + ["open"] * r(0, 3)
            ),
            "ambiguous": lambda: (
                ["visit"] * r(1, 2)
                + ["identify:form_submit:ambiguous"]
                + ["open"] * r(0, 2)
                + ["chat:ambiguous"] * (p() < 0.3)
            ),
            "negative": lambda: (
                ["visit", "identify:content_download"]
                + ["open"] * r(1, 3)
                + (["reply:negative", "unsub"] if p() < 0.7 else ["consent_no:negative"])
            ),
            "reconsent": lambda: [
                "visit",
                "identify:content_download",
                "open",
                "unsub",
                "visit",
                "consent_yes",
                "open",
            ],
            "job": lambda: ["careers"] * r(1, 2) + ["identify:form_submit:job"],
            "vendor": lambda: ["identify:form_submit:vendor"],
            "spam": lambda: ["identify:form_submit:spam"] * r(1, 2),
            "support": lambda: ["visit", "identify:chat:support"],
            "high_fit_low": lambda: ["identify", "email_click"],
        }[a]()
        span = {"hot": 35, "warm": 80, "casual": 25, "ambiguous": 30, "negative": 40, "reconsent": 80}.get(a, 5)
        self._play(lead, max(self.oldest, lead.end - rng.uniform(0.3, 1) * span * DAY), lead.end, steps)

    def _play(self, lead: SampleLead, start: float, end: float, steps: list[str]) -> None:
        rng = self.rng
        times = sorted(min(end, self._daytime(start + (end - start) * rng.random())) for _ in steps)
        for ts, step in zip(times, steps, strict=True):
            kind, _, arg = step.partition(":")
            if kind == "identify":  # arg: "<form event type>[:<intent>]" or "chat:<intent>"
                etype, _, intent = arg.partition(":")
                kind = "chat" if etype == "chat" else lead.channel
                if kind == "form":
                    self.form(
                        ts,
                        lead,
                        etype or "form_submit",
                        intent or ("intent" if lead.arch == "hot" and rng.random() < 0.3 else ""),
                    )
                    continue
                arg = intent or ("intent" if lead.arch == "hot" else "question")
            if kind == "visit" or kind == "careers":
                self.session(
                    ts, lead, ["/careers", "/careers/sales-development-representative"] if kind == "careers" else None
                )
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
                self.crm(
                    ts,
                    lead,
                    "contact_created",
                    rng.choice(["Imported from partner list", "Added by SDR from LinkedIn", ""]),
                )
            elif kind == "event":
                self.event(ts, lead)
            elif kind == "email_click":  # tracked link: web analytics sees the cookie and the email together
                self.web(
                    ts, lead.anon, "page_view", rng.choice(PAGES), utm=("email", "event-follow-up"), email=lead.email
                )

    def _daytime(self, ts: float) -> float:
        """Most people engage in working hours (06:00-20:00 UTC covers Europe and the US east coast)."""
        if self.rng.random() < 0.15:
            return ts
        return ts - ts % DAY + self.rng.uniform(6, 20) * 3600

    def message(self, intent: str) -> str:
        return self.rng.choice(MESSAGES[intent]).replace(
            "{n}", str(self.rng.choice([12, 25, 40, 80, 120, 200, 350, 500]))
        )

    # ---------------------------------------------------------------- records
    def next_number(self, source: str) -> int:
        self.counter[source] += 1
        return self.counter[source]

    def web(
        self, ts: float, anon: str, etype: str, url: str, utm: tuple = ("", ""), email: str = "", referrer: str = ""
    ) -> None:
        """One web-analytics line; every value is generated ASCII without quotes, so it is formatted directly (fast)."""
        self.seen_anon.add(anon)
        line = (
            f'{{"event_id": "wv_{opaque_id(self.next_number("web"), 1):012x}", "source": "web", "event_type": "{etype}", '
            f'"occurred_at": "{utc_text(ts)}.{int(ts * 1000) % 1000:03d}Z", "anonymous_id": "{anon}", "page_url": "{SITE}{url}"'
        )
        if email:
            self.linked_anon.add(anon)
            line += f', "email": "{email}"'
        if utm[0]:
            line += f', "utm_source": "{utm[0]}", "utm_campaign": "{utm[1]}"'
        if referrer:
            line += f', "referrer": "{referrer}"'
        self.out["web_visits.jsonl"].append((ts, line + "}"))

    def session(self, ts: float, lead: SampleLead | None, pages: list[str] | None = None, anon: str = "") -> None:
        rng = self.rng
        utm = rng.choice(UTM)
        if lead is not None:  # campaign tags only on the first landing; forms keep them as hidden fields
            anon, utm, lead.landed = lead.anon, ("", "") if lead.landed else lead.utm, True
        referrer = (
            rng.choice(["https://www.google.com/", "https://www.linkedin.com/", "https://news.ycombinator.com/"])
            if rng.random() < 0.1
            else ""
        )
        for k in range(rng.choice((1, 1, 1, 2, 2, 3, 4)) if pages is None else len(pages)):
            self.web(
                ts,
                anon,
                "page_view",
                pages[k] if pages else rng.choice(PAGES),
                utm if k == 0 else ("", ""),
                referrer=referrer if k == 0 else "",
            )
            ts += rng.uniform(15, 240)

    def form(self, ts: float, lead: SampleLead, etype: str, intent: str, consent: str = "", page: str = "") -> None:
        rng = self.rng
        if not page:
            page = {"demo_request": "/demo", "content_download": rng.choice(RESOURCES)}.get(etype) or rng.choice(
                ["/contact", "/newsletter"]
            )
            self.web(ts - rng.uniform(20, 150), lead.anon, "page_view", page)
        email = lead.email
        if rng.random() < 0.06:
            email = email.split("@")[0].title() + email[email.index("@") :] if rng.random() < 0.5 else email + " "
        domain = lead.domain
        if domain and rng.random() < 0.06:
            domain = rng.choice([f"www.{domain}", f"https://{domain}/", domain.upper()])
        size = "" if lead.no_size else size_text(lead.employees, lead.size_style)
        anon = lead.anon if rng.random() < 0.95 else ""  # some browsers block the tracking cookie
        if anon:
            self.linked_anon.add(anon)
        row = [
            f"ff-{100000 + self.next_number('form')}",
            "form",
            etype,
            local_text(ts, "eu1"),
            email,
            anon,
            lead.first,
            lead.last,
            lead.title,
            lead.phone,
            lead.typed_company,
            domain,
            size,
            lead.industry,
            lead.country,
            SITE + page,
            self.message(intent) if intent else "",
            *lead.utm,
            consent or ("no" if rng.random() < 0.04 else "yes"),
            rng.choice(["webinar-q3", "partner: Northwind", "paid social, retargeting"]) if rng.random() < 0.15 else "",
        ]
        self.out["form_fills.csv"].append((ts, row))

    def email(self, ts: float, lead: SampleLead, etype: str, message: str = "") -> None:
        eid, campaign = f"em_{opaque_id(self.next_number('email'), 2):012x}", self.rng.choice(CAMPAIGNS)
        if etype == "email_open":  # the bulk of this file: plain ASCII values, formatted directly
            line = (
                f'{{"event_id": "{eid}", "source": "email", "event_type": "email_open", "occurred_at": "{utc_text(ts)}Z", '
                f'"email": "{lead.email}", "utm_campaign": "{campaign}"}}'
            )
            self.out["email_engagement.jsonl"].append((ts, line))
            return
        rec = {
            "event_id": eid,
            "source": "email",
            "event_type": etype,
            "occurred_at": utc_text(ts) + "Z",
            "email": lead.email,
            "utm_campaign": campaign,
        }
        if message:
            rec["message"] = message
            rec["subject"] = "Re: " + campaign.replace("-", " ").capitalize()
        if etype == "unsubscribe":
            rec["consent"] = False
        self.out["email_engagement.jsonl"].append((ts, self.dumps(rec)))

    def chat(self, ts: float, lead: SampleLead | None, intent: str, anon: str = "") -> None:
        """A visitor's side of one chat: anonymous questions, then (for a lead) the email and the real ask."""
        rng = self.rng
        conv = f"cv_{opaque_id(self.next_number('chat'), 3):010x}"
        lines = [(True, self.message("question"))] if lead is None or rng.random() < 0.6 else []
        if lead is not None:
            lines.append((False, self.message(intent) + f" My email is {lead.email}" * (rng.random() < 0.3)))
        ts -= 60 * len(lines)
        for k, (anonymous, text) in enumerate(lines, 1):
            rec = {
                "event_id": f"{conv}-{k}",
                "source": "chat",
                "event_type": "chat_message",
                "occurred_at": f"{utc_text(ts)}.{int(ts * 1e6) % 1000000:06d}+00:00",
                "anonymous_id": lead.anon if lead else anon,
                "email": None if anonymous or lead is None else lead.email,
                "message": text,
                "conversation_id": conv,
            }
            self.seen_anon.add(rec["anonymous_id"])
            if lead is not None and not anonymous:
                self.linked_anon.add(lead.anon)
                rec.update(first_name=lead.first, company=lead.typed_company or None, consent=True)
            self.out["chat_transcripts.jsonl"].append((ts, self.dumps(rec)))
            ts += self.rng.uniform(20, 90)

    def crm(self, ts: float, lead: SampleLead, etype: str, message: str) -> None:
        size = "" if lead.no_size else size_text(lead.employees, "exact")
        row = [
            f"00U{opaque_id(self.next_number('crm'), 4):012X}",
            "crm",
            etype,
            utc_text(ts),
            lead.email,
            lead.first,
            lead.last,
            lead.title,
            lead.phone,
            lead.company,
            lead.domain,
            size,
            lead.industry,
            lead.country,
            message,
            self.rng.choices(["true", "", "false"], [87, 10, 3])[0],
            self.rng.choice(OWNERS),
        ]
        self.out["crm_events.csv"].append((ts, row))

    def event(self, ts: float, lead: SampleLead) -> None:
        """Registration for the conference nearest to ts, and (usually) the badge scan on the day."""
        rng = self.rng
        code, name, days, zone = min(EVENTS, key=lambda e: abs(self.now - e[2] * DAY - ts))
        day = self.now - days * DAY
        size = "" if lead.no_size else size_text(lead.employees, "round")
        registered = max(self.oldest, min(ts, day) - rng.uniform(3, 30) * DAY)
        for etype, when in (("event_registration", registered), ("event_attended", day + rng.uniform(0, 8) * 3600)):
            if etype == "event_attended" and (rng.random() < 0.2 or when > self.now):
                continue
            row = [
                f"att-{code}-{self.next_number('event'):05d}",
                "event",
                etype,
                local_text(when, zone),
                lead.email,
                lead.first,
                lead.last,
                lead.title,
                lead.typed_company,
                size,
                lead.country,
                rng.choice(["1", "1", "1", "0", ""]),
                code,
                name,
            ]
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
