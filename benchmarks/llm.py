"""LLM scoring throughput against the local emulator: leads/s, requests, tokens per lead, re-run requests.

Runs 10,000 synthetic leads (about 10% landing in the validator's middle band) through
`score_with_llm` with the real openai client against the emulator in its own process, 300 ms per
request, 8 concurrent requests of 20 leads; then runs the same leads again (all cached). Prints one
JSON line. Targets: requests per lead <= 0.06 (validator included), >= 400 leads/s, 0 re-run requests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DO_NOT_TRACK", "1")

from connectors.llm import LlmSettings, OpenAISettings  # noqa: E402
from leadgate.config import DEFAULT_POLICY, LeadgateSettings  # noqa: E402
from leadgate.policy import load_policy  # noqa: E402
from leadgate.scoring.llm import score_with_llm  # noqa: E402

NOW = datetime(2026, 3, 1, tzinfo=UTC)
# (share, message, profile): clear buyers and clear non-buyers decide at once; partnership asks are middling.
MIX = [
    (0.30, "Hi, {name} here: can we book a demo for 40 people next week? Call {phone}.", "buyer"),
    (0.15, "Please send pricing and a quote for {n} seats, procurement wants it by Friday.", "buyer"),
    (0.25, "Not interested, please remove me from this list. {name}", "cold"),
    (0.10, "Are you hiring? My resume is attached, {email}.", "cold"),
    (0.10, "We offer lead generation services to grow your pipeline, 15 minutes? {phone}", "cold"),
    (0.10, "We would like to explore becoming a reseller partner in our region.", "cold"),
]
PROFILES = {
    "buyer": {
        "seniority": "c_level",
        "job_title": "CEO",
        "company_size": "1000-5000",
        "company_size_min": 1000,
        "industry": "software",
        "country": "US",
        "is_target_account": True,
        "demo_requests": 3,
        "pricing_views": 5,
        "page_views": 12,
        "event_count": 20,
        "events_7d": 6,
        "events_30d": 20,
    },
    "cold": {
        "seniority": "individual",
        "job_title": "Student",
        "company_size": "1-10",
        "company_size_min": 1,
        "industry": "education",
        "country": "BR",
        "is_target_account": False,
        "demo_requests": 0,
        "pricing_views": 0,
        "page_views": 1,
        "event_count": 1,
        "events_7d": 1,
        "events_30d": 1,
    },
}


def synthetic_leads(n: int) -> pd.DataFrame:
    rows, cuts, acc = [], [], 0.0
    for share, text, profile in MIX:
        acc += share
        cuts.append((acc, text, profile))
    for i in range(n):
        pick = (i * 0.6180339887) % 1.0
        _, text, profile = next(c for c in cuts if pick < c[0])
        name, email, phone = f"Person{i} Surname{i}", f"person{i}@company{i}.com", f"+1 415 555 {i % 10000:04d}"
        rows.append(
            {
                "lead_id": f"ld_{i:016x}",
                "email": email,
                "first_name": f"Person{i}",
                "last_name": f"Surname{i}",
                "phone": phone,
                "company": f"Company {i}",
                "company_domain": f"company{i}.com",
                **PROFILES[profile],
                "first_touch_at": NOW - timedelta(days=20),
                "last_touch_at": NOW - timedelta(days=1),
                "content_downloads": 0,
                "form_submits": 1,
                "email_replies": 0,
                "email_opens": 0,
                "meeting_requests": 0,
                "chat_messages": 0,
                "buying_centre_size": 1,
                "was_dormant_reactivated": False,
                "longest_gap_days": 3,
                "consent_status": "granted",
                "sources": "form,web",
                "feature_hash": f"h{i}",
                "latest_message": text.format(name=name, email=email, phone=phone, n=50 + i % 500),
            }
        )
    return pd.DataFrame(rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stats(base: str) -> dict:
    with urllib.request.urlopen(base.removesuffix("/v1") + "/stats", timeout=5) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.openai_server", str(port), str(args.latency)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = server.stdout.readline().strip()
        policy = load_policy(DEFAULT_POLICY)
        frame = synthetic_leads(args.leads)
        llm = LlmSettings(_env_file=None, model="gpt-4o-mini", batch_size=args.batch_size, concurrency=args.concurrency)
        endpoint = OpenAISettings(_env_file=None, api_key=SecretStr("bench"), base_url=base)
        with tempfile.TemporaryDirectory() as tmp:
            settings = LeadgateSettings(db=Path(tmp) / "bench.duckdb", _env_file=None)
            load_before = os.getloadavg()[0]
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            first = score_with_llm(settings, policy, frame, NOW, run_id="bench-1", llm=llm, endpoint=endpoint)
            seconds = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            after_first = _stats(base)
            started = time.perf_counter()
            again = score_with_llm(settings, policy, frame, NOW, run_id="bench-2", llm=llm, endpoint=endpoint)
            rerun_seconds = time.perf_counter() - started
            after_second = _stats(base)
        summary = first.summary
        print(
            json.dumps(
                {
                    "leads": args.leads,
                    "latency_s": args.latency,
                    "batch_size": args.batch_size,
                    "concurrency": args.concurrency,
                    "seconds": round(seconds, 2),
                    "leads_per_s": round(args.leads / seconds, 1),
                    "ceiling_leads_per_s": round(args.concurrency * args.batch_size / args.latency, 1),
                    "client_cpu_s": round(
                        cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2
                    ),
                    "load_avg_1m_before": round(load_before, 2),
                    "requests": after_first["requests"],
                    "score_requests": after_first["by_kind"]["score"],
                    "validate_requests": after_first["by_kind"]["validate"],
                    "requests_per_lead": round(after_first["requests"] / args.leads, 4),
                    "tokens_per_lead": round((summary["tokens_in"] + summary["tokens_out"]) / args.leads, 1),
                    "middle_band_share": round(summary["validated"] / args.leads, 3),
                    "max_in_flight": after_first["max_in_flight"],
                    "routes": summary["routes"],
                    "estimated_cost_usd": summary["estimated_cost_usd"],
                    "rerun_requests": after_second["requests"] - after_first["requests"],
                    "rerun_seconds": round(rerun_seconds, 2),
                    "rerun_cache_hits": again.summary["cache_hits"],
                }
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
