"""What the scorer takes and gives back: lead inputs, results, call records, cache entries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.llm.schema import LeadAnswer, ValidatorVerdict
from leadgate.shared.prompt import Prompt

# Lead outcomes. ok: an answer to use; the rest send the lead to review, or keep it pending.
OK, LLM_ERROR, LLM_INCONSISTENT, PROMPT_INJECTION, PENDING = (
    "ok",
    "llm_error",
    "llm_inconsistent",
    "prompt_injection",
    "pending",
)
# Content failures are retried once with a smaller batch; transport failures are retried in place.
CONTENT_FAILURES = frozenset(
    {"invalid_json", "schema_violation", "truncated", "refusal", "wrong_leads", "missing_leads", "bad_request"}
)
TRANSPORT_FAILURES = frozenset({"rate_limited", "server_error", "timeout", "connection_error"})


@dataclass(frozen=True)
class LeadInput:
    """One lead as the model will see it (already scrubbed) and its cache identity."""

    lead_id: str
    view: dict[str, Any]
    input_hash: str
    cache_key: str

    @property
    def texts(self) -> list[str]:
        return [t for t in self.view.get("messages", []) if t]

    @property
    def free_texts(self) -> list[str]:
        """Every field a person typed freely and the model sees: the messages and the company name."""
        company = self.view.get("company")
        return self.texts + ([company] if isinstance(company, str) and company else [])


@dataclass
class LeadResult:
    lead_id: str
    outcome: str
    answer: LeadAnswer | None = None
    detail: str | None = None  # why, for llm_error / llm_inconsistent / prompt_injection / pending
    from_cache: bool = False
    cache_key: str | None = None
    input_hash: str | None = None


@dataclass
class ValidationResult:
    lead_id: str
    outcome: str  # ok | llm_error | pending
    verdict: ValidatorVerdict | None = None
    detail: str | None = None
    from_cache: bool = False


@dataclass
class CallRecord:
    """One HTTP attempt, as logged in scoring.llm_calls."""

    call_id: str
    kind: str  # score | validate
    model: str
    prompt_version: str
    batch_size: int
    lead_ids: list[str]
    outcome: str
    request_id: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    error: str | None = None
    estimated_cost_usd: float | None = None
    called_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class CacheEntry:
    """A structurally valid answer, reusable for the same input, prompt and model (scoring.llm_cache)."""

    cache_key: str
    model: str
    prompt_version: str
    input_hash: str
    answer: dict[str, Any]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def cache_key(prompt: Prompt, model: str, input_hash: str) -> str:
    """Cache identity: the exact scrubbed input, the prompt (version and text) and the model.

    `independent-v1`: answers cached before every promoting answer was confirmed alone are not reused.
    """
    return hashlib.sha256(f"{prompt.version}:{prompt.digest}:{model}:{input_hash}:independent-v1".encode()).hexdigest()


def lead_input(lead_id: str, view: dict[str, Any], prompt: Prompt, model: str) -> LeadInput:
    input_hash = hashlib.sha256(canonical(view).encode()).hexdigest()[:32]
    return LeadInput(lead_id, view, input_hash, cache_key(prompt, model, input_hash))
