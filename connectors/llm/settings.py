"""Settings for the LLM scorer: the endpoint (`OPENAI_*`) and how leadgate uses it (`LEADGATE_LLM_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from leadgate.shared.redaction import SecretSettings

SCORE_PROMPT = "score_v1"
VALIDATE_PROMPT = "validate_v1"


class OpenAISettings(SecretSettings):
    """Any OpenAI-compatible endpoint: OpenAI, Azure OpenAI's v1 API, vLLM, llama.cpp, Ollama."""

    model_config = SettingsConfigDict(env_prefix="OPENAI_", env_file=".env", extra="ignore")

    api_key: SecretStr | None = None
    base_url: str | None = Field(default=None, description="e.g. http://127.0.0.1:8000/v1; None = api.openai.com")

    @field_validator("api_key", "base_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class LlmSettings(SecretSettings):
    """How leadgate batches, paces and budgets its LLM calls (`LEADGATE_LLM_*`)."""

    model_config = SettingsConfigDict(env_prefix="LEADGATE_LLM_", env_file=".env", extra="ignore")

    model: str = "gpt-4o-mini"
    batch_size: int = Field(default=20, ge=1, le=200, description="leads per request")
    concurrency: int = Field(default=8, ge=1, le=256, description="requests in flight at once")
    max_requests_per_min: int | None = Field(default=None, ge=1, description="None = no pacing")
    max_tokens_per_run: int | None = Field(default=None, ge=1, description="leads beyond it stay pending")
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=4, ge=0, le=20, description="per request, for 429, 5xx and timeouts")
    backoff_base: float = Field(default=0.5, ge=0, description="seconds; doubles per retry, with jitter")
    backoff_max: float = Field(default=30.0, ge=0, description="cap for one wait, Retry-After included")
    temperature: float | None = Field(default=0.0, description="None omits it (reasoning models refuse it)")
    output_tokens_per_lead: int = Field(default=350, ge=50, description="completion allowance per lead")
    score_prompt: str = SCORE_PROMPT
    validate_prompt: str = VALIDATE_PROMPT

    @field_validator("max_requests_per_min", "max_tokens_per_run", "temperature", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """`LEADGATE_LLM_MAX_TOKENS_PER_RUN=` (as in .env.example) means: not set."""
        if isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        return value
