"""LLM scoring over any OpenAI-compatible endpoint: settings, the one client factory, schema, scorer."""

from connectors.llm.client import LlmConfigError, make_async_client
from connectors.llm.records import CacheEntry, CallRecord, LeadInput, LeadResult, ValidationResult
from connectors.llm.schema import LeadAnswer, ScoreBatchAnswer, ValidateBatchAnswer, ValidatorVerdict
from connectors.llm.scorer import LlmScorer
from connectors.llm.settings import LlmSettings, OpenAISettings

__all__ = [
    "CacheEntry",
    "CallRecord",
    "LeadAnswer",
    "LeadInput",
    "LeadResult",
    "LlmConfigError",
    "LlmScorer",
    "LlmSettings",
    "OpenAISettings",
    "ScoreBatchAnswer",
    "ValidateBatchAnswer",
    "ValidationResult",
    "ValidatorVerdict",
    "make_async_client",
]
