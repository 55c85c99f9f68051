"""Pipeline benchmark: seconds and rows/s per stage, and peak memory, for N synthetic leads.

Usage: .venv/bin/python benchmarks/pipeline.py --leads 100000 [--keep DIR]

Prints one JSON line. Stages run as the flow runs them (leadgate.pipeline.steps), without the Prefect server,
so the figure excludes Prefect start-up. Beside our ingest it measures DuckDB's own floor,
`create table t as select * from read_json(...)` / `read_csv(...)` of the same files, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

for key, value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ[key] = value

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from leadgate.config import LeadgateSettings  # noqa: E402
from leadgate.pipeline import steps  # noqa: E402
from leadgate.policy import load_policy  # noqa: E402
from leadgate.sample.generator import write_sample  # noqa: E402
from leadgate.store import db  # noqa: E402


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def floor_seconds(inbox: Path, work: Path) -> float:
    """DuckDB's own bulk load of the same files, into a scratch database."""
    con = duckdb.connect(str(work / "floor.duckdb"), config={"autoinstall_known_extensions": "false"})
    t0 = time.perf_counter()
    for i, path in enumerate(sorted(inbox.iterdir())):
        if path.suffix in (".jsonl", ".json"):
            con.execute(
                f"create table j{i} as select * from read_json(?, format='newline_delimited', ignore_errors=true)",
                [str(path)],
            )
        elif path.suffix == ".csv":
            con.execute(f"create table c{i} as select * from read_csv(?, header=true, ignore_errors=true)", [str(path)])
    seconds = time.perf_counter() - t0
    con.close()
    return seconds


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="leadgate-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    inbox = work / "inbox"
    _, gen_s = timed(write_sample, inbox, leads=args.leads, seed=args.seed, bad_records=True)
    size_mb = sum(p.stat().st_size for p in inbox.iterdir()) / 1e6

    settings = LeadgateSettings(db=work / "bench.duckdb", inbox=inbox, _env_file=None)
    policy = load_policy(settings.policy)
    floor_s = floor_seconds(inbox, work)
    run_id = steps.new_run_id()

    stages: dict[str, dict] = {}
    t_start = time.perf_counter()
    ingested, s = timed(steps.ingest_step, settings)
    stages["ingest"] = {
        "seconds": round(s, 2),
        "rows": ingested.records,
        "rows_per_s": round(ingested.records / s),
        "ratio_to_floor": round(s / floor_s, 2),
    }
    built, s = timed(steps.build_step, settings)
    stages["dbt"] = {"seconds": round(s, 2), "nodes": len(built.nodes)}
    decided, s = timed(steps.decide_step, settings, policy, run_id)
    stages["score_gate_route"] = {
        "seconds": round(s, 2),
        "rows": decided.scored,
        "rows_per_s": round(decided.scored / s) if s else None,
        "detail": decided.seconds,
    }
    synced, s = timed(steps.sync_step, settings, policy, run_id)
    stages["sync_shadow"] = {"seconds": round(s, 2), "report": steps.to_plain(synced)}
    _, s = timed(db.publish_read_copy, settings)
    stages["publish_read_copy"] = {"seconds": round(s, 2)}
    total = time.perf_counter() - t_start

    # A run with no new events: what the 15-minute schedule does most of the time.
    t0 = time.perf_counter()
    again = steps.ingest_step(settings)
    rerun_scored = 0
    if again.accepted > 0:
        steps.build_step(settings)
        rerun_scored = steps.decide_step(settings, policy, steps.new_run_id()).scored
    rerun_sync = steps.sync_step(settings, policy, steps.new_run_id())
    db.publish_read_copy(settings)
    rerun_s = time.perf_counter() - t0

    status = steps.status_counts(settings)
    print(
        json.dumps(
            {
                "benchmark": "pipeline",
                "leads_requested": args.leads,
                "events_in_files": ingested.records,
                "input_mb": round(size_mb, 1),
                "generate_seconds": round(gen_s, 2),
                "floor_read_json_seconds": round(floor_s, 2),
                "stages": stages,
                "end_to_end_seconds": round(total, 2),
                "rerun_no_new_events": {
                    "seconds": round(rerun_s, 2),
                    "loaded": again.accepted,
                    "scored": rerun_scored,
                    "sync": steps.to_plain(rerun_sync),
                },
                "leads_by_state": status.get("leads"),
                "invariants_ok": all(i["ok"] for i in status.get("invariants", [])),
                "peak_rss_mb": peak_rss_mb(),
            },
            default=str,
        )
    )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
