"""Browser review queue benchmark: page latency with N pending items, and the decision round trip.

Usage: .venv/bin/python benchmarks/review.py [--items 100000] [--requests 40]

A fresh DuckDB file gets N pending review items (with leads, scores, states, marts stand-ins and one
reviewer); the app is served by uvicorn on 127.0.0.1 and driven over HTTP by httpx. Measured: the queue
page (default priority order, a search, a filter, a deep page), the item page, an approval with the
database free, and an approval while another process holds the writer lock (a pipeline run). Prints one
JSON line with median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn

from leadgate.config import LeadgateSettings
from leadgate.policy import load_policy
from leadgate.review.reviewers import add_reviewer
from leadgate.review.web.app import create_app
from leadgate.store import db
from tests.fixtures.dbt.models import build_lead_recent_events
from tests.writer_holder import another_writer

PASSWORD = "benchmark password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(settings: LeadgateSettings, n: int) -> None:
    """N leads in review, as routing leaves them, in set-based SQL (seconds, not minutes)."""
    with db.connect(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            """
            create table marts.lead_features as
            select 'ld_' || lpad(i::varchar, 8, '0') as lead_id, 'p' || i || '@co' || (i % 20000) || '.example' as email,
                   'First' || i as first_name, 'Last' || i as last_name, 'Manager' as job_title, 'manager' as seniority,
                   'Company ' || (i % 20000) as company, 'co' || (i % 20000) || '.example' as company_domain,
                   'co' || (i % 20000) || '.example' as account_id, 'software' as industry, 'US' as country,
                   '51-200' as company_size, i % 50 = 0 as is_target_account,
                   case when i % 50 = 0 then 'Target ' || i else null end as target_account_name,
                   (i % 5)::int as buying_centre_size, true as has_consent, 'granted' as consent_status,
                   'Please send pricing for ' || i as latest_message, now() - interval (i % 500) hour as last_touch_at,
                   md5(i::varchar) as feature_hash
            from range(?) t(i)
            """,
            [n],
        )
        con.execute(
            """
            create table marts.lead_events as
            select f.lead_id, 'web' as source, f.lead_id || '-' || k as event_id,
                   case k when 0 then 'form_submit' else 'page_view' end as event_type,
                   now() - interval (k * 3) hour as occurred_at, '/pricing' as page_url,
                   case k when 0 then f.latest_message else null end as message, null::varchar as utm_source,
                   null::varchar as utm_campaign, false as was_anonymous
            from marts.lead_features f, range(3) r(k)
            """
        )
        build_lead_recent_events(con)  # by the dbt model's own SQL
        con.execute(
            """
            insert into scoring.scores (score_id, lead_id, scored_at, scorer, scorer_version, policy_version,
                feature_hash, score, confidence, qualified, reasons)
            select row_number() over (), lead_id, now(), 'baseline', 'baseline-1', 'bench', feature_hash,
                   0.3 + (hash(lead_id) % 50) / 100.0, 0.5, false,
                   '[{"feature":"pricing_views","points":9.1,"detail":"3 pricing views"}]'::json
            from marts.lead_features
            """
        )
        con.execute(
            """
            insert into lifecycle.lead_states (lead_id, state, reason_codes, feature_hash, score_id, policy_version,
                decided_by, changed_at)
            select s.lead_id, 'needs_review', ['low_confidence'], s.feature_hash, s.score_id, 'bench', 'policy:baseline', now()
            from scoring.scores s
            """
        )
        con.execute(
            """
            insert into review.items (lead_id, feature_hash, score_id, email, full_name, company, job_title, score,
                confidence, reasons, reason_codes, summary, latest_message, status, policy_version, created_at,
                tier, next_action, priority)
            select f.lead_id, f.feature_hash, s.score_id, f.email, f.first_name || ' ' || f.last_name, f.company,
                   f.job_title, s.score, s.confidence, s.reasons,
                   [(['low_confidence', 'missing_company_size', 'target_account', 'high_fit_low_engagement'])[1 + (hash(f.lead_id) % 4)::bigint]],
                   'Close to the threshold', f.latest_message, 'pending', 'bench',
                   now() - interval (hash(f.lead_id) % 20000) minute, (['A', 'B', 'C'])[1 + (hash(f.lead_id) % 3)::bigint],
                   'call', case when hash(f.lead_id) % 10 = 0 then null else (hash(f.lead_id) % 1000) / 1000.0 end
            from marts.lead_features f join scoring.scores s using (lead_id)
            """
        )
        con.execute("checkpoint")
    add_reviewer(settings, "bench", PASSWORD)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
        "n": len(ordered),
    }


def _timed(call, times: int) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadgate-review-bench-"))
    settings = LeadgateSettings(db=work / "leadgate.duckdb", lock_timeout=5.0, _env_file=None)
    started = time.perf_counter()
    build(settings, args.items)
    build_seconds = time.perf_counter() - started

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, load_policy(settings.policy)), host="127.0.0.1", port=0, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=60)
    signin = client.get("/signin")
    token = TOKEN.search(signin.text).group(1)
    assert client.post("/signin", data={"name": "bench", "password": PASSWORD, "csrf_token": token}).status_code == 303

    def ok(path: str) -> None:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)

    result: dict[str, object] = {
        "benchmark": "review_web",
        "items": args.items,
        "build_seconds": round(build_seconds, 1),
    }
    ok("/queue")  # warm-up
    result["queue"] = _stats(_timed(lambda: ok("/queue"), args.requests))
    result["queue_oldest_first"] = _stats(_timed(lambda: ok("/queue?sort=oldest"), args.requests // 2))
    result["queue_search"] = _stats(_timed(lambda: ok("/queue?q=company+123"), args.requests // 2))
    result["queue_filter"] = _stats(_timed(lambda: ok("/queue?reason=target_account&tier=B"), args.requests // 2))
    result["queue_page_1000"] = _stats(_timed(lambda: ok("/queue?page=1000"), args.requests // 2))
    ids = random.Random(1).sample(range(1, args.items + 1), args.requests * 3)
    pick = iter(ids)
    result["item"] = _stats(_timed(lambda: ok(f"/items/{next(pick)}"), args.requests))

    page_token = TOKEN.search(client.get("/queue").text).group(1)

    answers: dict[str, int] = {}

    def approve() -> None:
        answer = client.post(f"/items/{next(pick)}/approve", data={"csrf_token": page_token})
        answers[str(answer.status_code)] = answers.get(str(answer.status_code), 0) + 1  # 303 applied, 202 saved

    result["decision_free"] = {**_stats(_timed(approve, args.requests)), "answers": dict(answers)}
    answers.clear()
    with another_writer(settings.db_path, seconds=120):
        busy = _timed(approve, max(5, args.requests // 4))
    result["decision_while_run_holds_db"] = {**_stats(busy), "answers": dict(answers)}
    server.should_exit = True
    thread.join(timeout=10)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
