"""Ingest throughput beside DuckDB's own floor; prints one JSON line.

    .venv/bin/python benchmarks/ingest.py --events 1000000 [--repeat 2] [--keep DIR]

Writes a clean JSON Lines file of N realistic events and a variant with 1% bad records (invalid
JSON, missing fields, bad timestamps and emails, unknown sources, non-objects, lines that are not
UTF-8 and one record over 1 MiB), then times, in this process, `create table t as select * from
read_json(file)` into a fresh database file (the floor) and `ingest_paths` of each file into a fresh
leadgate database. Figures are measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOURCES = np.array(["web", "web", "web", "web", "web", "email", "email", "form", "chat", "crm", "event"])
WEB_TYPES = np.array(["page_view", "page_view", "page_view", "pricing_view", "content_download"])
EMAIL_TYPES = np.array(["email_open", "email_open", "email_reply"])
PAGES = np.array(["/", "/pricing", "/product/scoring", "/blog/lead-routing-101", "/customers", "/demo"])
CAMPAIGNS = np.array(["q3-launch", "webinar-2026-05", "retargeting", "newsletter", ""])
SIZES = np.array(["11-50", "51-200", "201-500", "1000", "1001-5000", "10000+"])
TITLES = np.array(["Head of Data", "VP Sales", "Marketing Manager", "CTO", "Analyst", "Founder"])


def generate(path: Path, n: int, bad_share: float, seed: int = 7) -> None:
    """Write n events (about 290 bytes each) to path; bad_share of them deliberately bad."""
    rng = np.random.default_rng(seed)
    src = SOURCES[rng.integers(0, len(SOURCES), n)]
    person = rng.integers(0, max(n // 10, 1), n)
    ts = (1_767_225_600 + rng.integers(0, 31_536_000, n)).astype("datetime64[s]").astype(str)
    web_t = WEB_TYPES[rng.integers(0, len(WEB_TYPES), n)]
    mail_t = EMAIL_TYPES[rng.integers(0, len(EMAIL_TYPES), n)]
    page = PAGES[rng.integers(0, len(PAGES), n)]
    camp = CAMPAIGNS[rng.integers(0, len(CAMPAIGNS), n)]
    size = SIZES[rng.integers(0, len(SIZES), n)]
    title = TITLES[rng.integers(0, len(TITLES), n)]
    known = rng.random(n) < 0.3
    lines = []
    for i in range(n):
        s, p = src[i], int(person[i])
        head = f'{{"event_id": "{s[:2]}-{i:09d}", "source": "{s}", "occurred_at": "{ts[i]}Z", '
        email = f"person{p}@company{p % 9973}.com"
        if s == "web":
            who = f'"anonymous_id": "anon-{p:08x}"' + (f', "email": "{email}"' if known[i] else "")
            lines.append(
                f'{head}"event_type": "{web_t[i]}", {who}, "page_url": "https://www.pipewise.example{page[i]}",'
                f' "utm_source": "google", "utm_campaign": "{camp[i]}"}}'
            )
        elif s == "email":
            msg = ', "message": "Thanks, could you send pricing for 50 seats?"' if mail_t[i] == "email_reply" else ""
            lines.append(f'{head}"event_type": "{mail_t[i]}", "email": "{email}", "utm_campaign": "{camp[i]}"{msg}}}')
        else:
            lines.append(
                f'{head}"event_type": "form_submit", "email": "{email}", "first_name": "First{p}",'
                f' "last_name": "Last{p}", "job_title": "{title[i]}", "company": "Company {p % 9973}",'
                f' "company_domain": "company{p % 9973}.com", "company_size": "{size[i]}", "country": "DE",'
                f' "consent": true}}'
            )
    data = "\n".join(lines).encode()
    if bad_share > 0:
        data = _spoil(lines, rng, bad_share)
    path.write_bytes(data + b"\n")


def _spoil(lines: list[str], rng: np.random.Generator, share: float) -> bytes:
    kinds = [
        lambda s: s[: len(s) // 2],  # cut off: not valid JSON
        lambda s: s.replace('"event_id"', '"event_ref"', 1),  # missing event_id
        lambda s: s.replace('"occurred_at": "', '"occurred_at": "yesterday ', 1),
        lambda s: s.replace('"source": "', '"source": "fax', 1),
        lambda s: "[" + s + "]",  # JSON, not an object
        lambda s: s.replace("@", "@@").replace('"anonymous_id"', '"visitor"'),
        lambda s: s[:-1] + ', "page_title": "caf\udce9"}',  # Latin-1 byte: not UTF-8
    ]
    chosen = rng.choice(len(lines), int(len(lines) * share), replace=False)
    out = [line.encode() for line in lines]
    for k, i in enumerate(chosen):
        out[i] = kinds[k % len(kinds)](lines[i]).encode("utf-8", "surrogateescape")
    if len(chosen):
        out[chosen[0]] = b'{"event_id": "huge", "message": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    return b"\n".join(out)


def _generate_both(folder: str, n: int) -> None:
    generate(Path(folder) / "clean.jsonl", n, 0.0)
    generate(Path(folder) / "bad.jsonl", n, 0.01)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def _floor(path: Path, work: Path) -> tuple[float, float]:
    import duckdb

    target = work / "floor.duckdb"
    con = duckdb.connect(str(target))
    started, cpu = time.perf_counter(), _cpu()
    con.execute("create table t as select * from read_json(?)", [str(path)])
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    con.close()
    target.unlink()
    return seconds, cpu


def _ingest(path: Path, work: Path) -> tuple[float, float, dict]:
    from leadgate.config import LeadgateSettings
    from leadgate.ingest import ingest_paths

    db = work / "leadgate.duckdb"
    # The events span 2026: as of its end, none is "more than a day after the run" (ingest rejects those).
    settings = LeadgateSettings(
        db=db, inbox=work, lock_timeout=5.0, as_of=datetime(2027, 1, 1, tzinfo=UTC), _env_file=None
    )
    started, cpu = time.perf_counter(), _cpu()
    report = ingest_paths(settings, [path])
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    for leftover in work.glob("leadgate.duckdb*"):
        leftover.unlink()
    counts = {k: getattr(report, k) for k in ("records", "accepted", "rejected", "duplicates", "field_issues")}
    return seconds, cpu, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="best of N timings")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadgate-bench-"))
    folder = args.keep or work
    folder.mkdir(parents=True, exist_ok=True)
    clean, bad = folder / "clean.jsonl", folder / "bad.jsonl"
    try:
        if not (clean.exists() and bad.exists()):
            # A child process, so the generator's memory is not counted in the peak below.
            child = multiprocessing.get_context("spawn").Process(target=_generate_both, args=(str(folder), args.events))
            child.start()
            child.join()
        for path in (clean, bad):
            path.read_bytes()  # warm the page cache for every contender alike
        # Interleaved (floor, clean, bad) rounds, best of each: the machine may be shared.
        rounds = [(_floor(clean, work), _ingest(clean, work), _ingest(bad, work)) for _ in range(args.repeat)]
        floor, floor_cpu = min(r[0] for r in rounds)
        results = {}
        for index, name in ((1, "clean"), (2, "bad_1pct")):
            seconds, cpu, counts = min((r[index] for r in rounds), key=lambda r: r[0])
            results[name] = {
                "seconds": round(seconds, 3),
                "rows_per_s": round(counts["records"] / seconds),
                "ratio_to_floor": round(seconds / floor, 2),
                # the ratio within each round, then the median: less sensitive to one lucky floor
                "ratio_median_of_rounds": round(statistics.median(r[index][0] / r[0][0] for r in rounds), 2),
                "cpu_seconds": round(cpu, 2),
                "cpu_ratio_to_floor": round(cpu / floor_cpu, 2),
                **counts,
            }
        print(
            json.dumps(
                {
                    "benchmark": "ingest",
                    "events": args.events,
                    "file_mb": round(clean.stat().st_size / 1e6, 1),
                    "cpus": os.cpu_count(),
                    "load_average": round(os.getloadavg()[0], 1),
                    "floor_seconds": round(floor, 3),
                    "floor_cpu_seconds": round(floor_cpu, 2),
                    "floor_rows_per_s": round(args.events / floor),
                    **results,
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
