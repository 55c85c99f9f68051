"""The LLM scorer's database side: the answer cache and the call log (its messages: store/recent_events.py)."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from connectors.llm import CacheEntry, CallRecord
from leadgate.store.sql import registered


def load_cache(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Cached answers for `keys` (cache_key -> answer JSON)."""
    if not keys:
        return {}
    with registered(con, _llm_cache_keys=pd.DataFrame({"cache_key": list(dict.fromkeys(keys))})):
        rows = con.execute(
            "select c.cache_key, c.answer from scoring.llm_cache c join _llm_cache_keys k using (cache_key)"
        ).fetchall()
    return {key: json.loads(answer) for key, answer in rows}


def load_validation_cache(
    con: duckdb.DuckDBPyConnection, input_hashes: list[str], prompt_version: str
) -> dict[str, dict[str, Any]]:
    """Cached validator verdicts for leads with these input hashes (their keys also cover the first answer)."""
    if not input_hashes:
        return {}
    with registered(con, _llm_cache_inputs=pd.DataFrame({"input_hash": list(dict.fromkeys(input_hashes))})):
        rows = con.execute(
            "select c.cache_key, c.answer from scoring.llm_cache c join _llm_cache_inputs i using (input_hash)"
            " where c.prompt_version = ?",
            [prompt_version],
        ).fetchall()
    return {key: json.loads(answer) for key, answer in rows}


def store_cache(con: duckdb.DuckDBPyConnection, entries: list[CacheEntry]) -> int:
    """Insert new cache entries (an existing key keeps its first answer); returns how many were offered."""
    if not entries:
        return 0
    frame = pd.DataFrame(
        {
            "cache_key": [e.cache_key for e in entries],
            "model": [e.model for e in entries],
            "prompt_version": [e.prompt_version for e in entries],
            "input_hash": [e.input_hash for e in entries],
            "answer": [json.dumps(e.answer, sort_keys=True) for e in entries],
        }
    )
    with registered(con, _llm_cache_new=frame):
        con.execute(
            "insert into scoring.llm_cache (cache_key, model, prompt_version, input_hash, answer, created_at)"
            " select cache_key, model, prompt_version, input_hash, answer::json, now() from _llm_cache_new"
            " on conflict do nothing"
        )
    return len(entries)


def record_llm_calls(con: duckdb.DuckDBPyConnection, calls: list[CallRecord], run_id: str | None) -> int:
    """Append every HTTP attempt to scoring.llm_calls."""
    if not calls:
        return 0
    frame = pd.DataFrame(
        {
            "call_id": [c.call_id for c in calls],
            "request_id": [c.request_id for c in calls],
            "model": [c.model for c in calls],
            "prompt_version": [c.prompt_version for c in calls],
            "kind": [c.kind for c in calls],
            "batch_size": [c.batch_size for c in calls],
            "lead_ids": [json.dumps(c.lead_ids) for c in calls],
            "tokens_in": [c.tokens_in for c in calls],
            "tokens_out": [c.tokens_out for c in calls],
            "latency_ms": [c.latency_ms for c in calls],
            "outcome": [c.outcome for c in calls],
            "error": [c.error for c in calls],
            "estimated_cost_usd": pd.Series([c.estimated_cost_usd for c in calls], dtype="float64"),
            "called_at": [c.called_at for c in calls],
        }
    )
    with registered(con, _llm_calls_new=frame):
        con.execute(
            "insert into scoring.llm_calls (call_id, run_id, request_id, model, prompt_version, kind, batch_size, lead_ids,"
            " tokens_in, tokens_out, latency_ms, outcome, error, estimated_cost_usd, called_at)"
            " select call_id, ?, request_id, model, prompt_version, kind, batch_size, lead_ids::json, tokens_in, tokens_out,"
            " latency_ms, outcome, error, estimated_cost_usd, called_at from _llm_calls_new",
            [run_id],
        )
    return len(calls)
