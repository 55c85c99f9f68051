"""Synthetic outcomes (converted / not) drawn from a documented propensity, for demos, tests and benchmarks.

The propensity is a function of what leadgate sees in `marts.lead_features` as of scoring time:

    logit = -2.4
          + seniority       c_level +1.0, vp +0.8, director +0.5, manager +0.2, individual -0.3, unknown -0.6
          + industry        software/saas +0.6, fintech/financial services +0.4, healthcare +0.2, education -0.6
          + company size    >= 1000 employees +0.4, 200-999 +0.3, under 11 -0.5, unknown -0.2
          + 0.55 * log1p(pricing_views) + 1.1 * [demo_requests > 0] + 0.6 * [meeting_requests > 0]
          + 0.35 * log1p(email_replies)
          + interactions    (c_level or vp) and size >= 200: +0.6;  software/saas and a demo request: +0.4
          - 0.025 * days since the last touch (at scoring time)
    P(converted) = 0.04 + 0.92 * sigmoid(logit)

The last line is the noise: about 4% of outcomes are recorded against the lead's behaviour whatever it
did (a deal lost to budget, a CRM mistake), on top of the draw itself. `propensity` is exactly
P(converted | features), so its AUC on drawn outcomes is the best any model can reach.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

SENIORITY = {"c_level": 1.0, "vp": 0.8, "director": 0.5, "manager": 0.2, "individual": -0.3, "unknown": -0.6}
INDUSTRY = {
    "software": 0.6,
    "saas": 0.6,
    "fintech": 0.4,
    "financial services": 0.4,
    "healthcare": 0.2,
    "education": -0.6,
}
INDUSTRIES = [
    "Software",
    "SaaS",
    "Fintech",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Logistics",
    "Mining",
]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "IN", "BR", "CA"]
SIZES = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000)]
_SAMPLE_SENIORITY = {
    "c": "c_level",
    "vp": "vp",
    "dir": "director",
    "mgr": "manager",
    "ind": "individual",
    "unk": "unknown",
}


def _age_days(frame: pd.DataFrame, now: datetime | None) -> np.ndarray:
    if "last_touch_age_days" in frame:
        return pd.to_numeric(frame["last_touch_age_days"], errors="coerce").fillna(0).to_numpy(float)
    last = pd.to_datetime(frame["last_touch_at"], utc=True)
    return np.clip(((pd.Timestamp(now) - last).dt.total_seconds() / 86400).fillna(0).to_numpy(float), 0, None)


def propensity(frame: pd.DataFrame, now: datetime | None = None) -> np.ndarray:
    """P(converted) for lead-feature rows (see the module docstring); `now` is the scoring time."""

    def num(col: str) -> np.ndarray:
        return pd.to_numeric(frame[col], errors="coerce").fillna(0).to_numpy(float)

    seniority = frame["seniority"].fillna("unknown").astype(str).str.lower()
    industry = frame["industry"].fillna("").astype(str).str.strip().str.lower()
    size = pd.to_numeric(frame["company_size_min"], errors="coerce").to_numpy(float)
    senior = seniority.isin(["c_level", "vp"]).to_numpy()
    software = industry.isin(["software", "saas"]).to_numpy()
    demo = num("demo_requests") > 0
    logit = (
        -2.4
        + seniority.map(SENIORITY).fillna(-0.6).to_numpy(float)
        + industry.map(INDUSTRY).fillna(0.0).to_numpy(float)
        + np.select([np.isnan(size), size >= 1000, size >= 200, size < 11], [-0.2, 0.4, 0.3, -0.5], 0.0)
        + 0.55 * np.log1p(num("pricing_views"))
        + 1.1 * demo
        + 0.6 * (num("meeting_requests") > 0)
        + 0.35 * np.log1p(num("email_replies"))
        + 0.6 * (senior & (np.nan_to_num(size) >= 200))
        + 0.4 * (software & demo)
        - 0.025 * _age_days(frame, now)
    )
    return 0.04 + 0.92 / (1.0 + np.exp(-logit))


def draw_outcomes(p: np.ndarray, seed: int) -> np.ndarray:
    """Converted (bool) per lead, drawn from its propensity."""
    # its own stream: the features of `synthetic_lead_features(seed)` come from default_rng(seed)
    return np.random.default_rng((seed, 0x0C0FFEE)).random(len(p)) < p


def synthetic_lead_features(n: int, seed: int = 1, now: datetime | None = None) -> pd.DataFrame:
    """`n` rows shaped like marts.lead_features (vectorised; no events), with some missing values."""
    rng = np.random.default_rng(seed)
    now = now or datetime(2026, 11, 15, 12, tzinfo=UTC)
    seniority = rng.choice(list(SENIORITY), n, p=[0.06, 0.09, 0.15, 0.27, 0.33, 0.10])
    industry = rng.choice(INDUSTRIES, n).astype(object)
    industry[rng.random(n) < 0.1] = None
    band = rng.choice(len(SIZES), n, p=[0.10, 0.22, 0.25, 0.15, 0.10, 0.12, 0.06])
    size_min = np.array([SIZES[b][0] for b in band], dtype=float)
    size_text = np.array([f"{SIZES[b][0]}-{SIZES[b][1]}" for b in band], dtype=object)
    unknown_size = rng.random(n) < 0.08
    size_min[unknown_size], size_text[unknown_size] = np.nan, None
    # a latent interest drives every behaviour count, so the counts are correlated as in real data
    interest = rng.gamma(1.2, 1.0, n) * (1 + 0.3 * np.isin(seniority, ["c_level", "vp", "director"]))
    pricing = rng.poisson(0.8 * interest)
    demos = rng.poisson(0.25 * interest)
    meetings = rng.poisson(0.1 * interest)
    replies = rng.poisson(0.5 * interest)
    pages = rng.poisson(4 * interest) + 1
    opens = rng.poisson(2 * interest)
    forms = rng.poisson(0.4 * interest)
    downloads = rng.poisson(0.5 * interest)
    chats = rng.poisson(0.2 * interest)
    age = rng.exponential(25, n)
    span = rng.exponential(40, n)
    last = pd.Timestamp(now) - pd.to_timedelta(age, unit="D")
    first = last - pd.to_timedelta(span, unit="D")
    events = pricing + demos + meetings + replies + pages + opens + forms + downloads + chats
    ids = [f"ld_{hashlib.md5(f'{seed}-{i}'.encode()).hexdigest()[:16]}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "lead_id": ids,
            "email": [f"lead{i}.s{seed}@example-{i % 97}.com" for i in range(n)],
            "first_name": "Sam",
            "last_name": [f"Lead{i}" for i in range(n)],
            "job_title": seniority,
            "phone": None,
            "seniority": seniority,
            "company": [f"Company {i % 97}" for i in range(n)],
            "company_domain": [f"example-{i % 97}.com" for i in range(n)],
            "account_id": [f"example-{i % 97}.com" for i in range(n)],
            "industry": industry,
            "country": rng.choice(COUNTRIES, n),
            "company_size": size_text,
            "company_size_min": size_min,
            "company_size_max": np.where(np.isnan(size_min), np.nan, size_min * 5),
            "is_target_account": False,
            "target_account_name": None,
            "first_touch_at": first,
            "last_touch_at": last,
            "event_count": events,
            "anonymous_event_count": 0,
            "page_views": pages,
            "pricing_views": pricing,
            "demo_requests": demos,
            "content_downloads": downloads,
            "form_submits": forms,
            "email_replies": replies,
            "email_opens": opens,
            "meeting_requests": meetings,
            "chat_messages": chats,
            "events_7d": rng.binomial(events, np.where(age < 7, 0.3, 0.0)),
            "events_30d": rng.binomial(events, np.where(age < 30, 0.6, 0.0)),
            "buying_centre_size": 1 + rng.poisson(0.3, n),
            "was_dormant_reactivated": False,
            "longest_gap_days": np.round(span / 3).astype(int),
            "has_consent": True,
            "consent_status": "granted",
            "latest_message": None,
            "latest_message_at": pd.NaT,
            "first_utm_source": rng.choice(["google", "linkedin", "newsletter", "direct"], n),
            "first_utm_campaign": rng.choice(["q4-search", "webinar", "brand"], n),
            "sources": "email,web",
        }
    )
    frame["feature_hash"] = [hashlib.md5(f"{seed}-{i}-{n}".encode()).hexdigest() for i in range(n)]
    return frame


# --- outcomes for a generated sample (`leadgate sample --outcomes`) --------------------------


def _tally(gen) -> dict[str, dict]:
    """Per email: event counts by type and the last event time, from the generator's buffered records."""
    per: dict[str, dict] = {}
    for _name, rows in gen.out.items():
        for ts, payload in rows:
            if isinstance(payload, str):
                rec = json.loads(payload)
                email, kind = rec.get("email"), rec.get("event_type")
            else:
                email, kind = payload[4], payload[2]
            if not email:
                continue
            t = per.setdefault(email.strip().lower(), {"last": ts})
            t[kind] = t.get(kind, 0) + 1
            t["last"] = max(t["last"], ts)
    return per


def outcomes_path(out_dir: Path) -> Path:
    """Where `sample --outcomes` writes: beside the events folder, never inside it (ingest would read it as events)."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}-outcomes.csv"


def write_sample_outcomes(
    out_dir: Path, *, leads: int, seed: int, now: datetime | None = None
) -> tuple[Path, int, int]:
    """Replay the sample's people and journeys (same seed), draw their outcomes, write the CSV; (path, rows, converted)."""
    from leadgate.sample.generator import SAMPLE_NOW
    from leadgate.sample.journeys import JourneyGenerator
    from leadgate.sample.vocab import TITLES

    now = now or SAMPLE_NOW
    gen = JourneyGenerator(seed, now, leads)
    people = gen.plan(leads)
    for lead in people:
        gen.journey(lead)
    title_rank = {t: _SAMPLE_SENIORITY[k] for k, (_, titles) in TITLES.items() for t in titles.split("|") if t}
    tally = _tally(gen)
    rows = []
    for lead in people:
        t = tally.get(lead.email.strip().lower(), {"last": gen.now})
        rows.append(
            {
                "email": lead.email,
                "seniority": title_rank.get(lead.title, "unknown"),
                "industry": lead.industry,
                "company_size_min": lead.employees,
                "pricing_views": t.get("pricing_view", 0),
                "demo_requests": t.get("demo_request", 0),
                "meeting_requests": t.get("meeting_request", 0),
                "email_replies": t.get("email_reply", 0),
                "last_touch_age_days": max(0.0, (gen.now - t["last"]) / 86400),
            }
        )
    frame = pd.DataFrame(rows)
    converted = draw_outcomes(propensity(frame), seed)
    rng = random.Random(seed * 7919 + 1)
    path = outcomes_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "stage", "closed_at"])
        for email, won in zip(frame["email"], converted):
            # deals close within two weeks after the sample ends, as they would after leadgate scored the lead
            closed = now + timedelta(days=rng.uniform(1, 14))
            writer.writerow([email, "Closed Won" if won else "Closed Lost", closed.strftime("%Y-%m-%dT%H:%M:%SZ")])
    return path, len(frame), int(converted.sum())
