"""The one place that builds the OpenAI SDK client."""

from __future__ import annotations

import openai

from connectors.llm.settings import LlmSettings, OpenAISettings


class LlmConfigError(RuntimeError):
    """The endpoint refused us for a reason retries cannot fix (bad key, unknown model, bad URL)."""


def make_async_client(endpoint: OpenAISettings, llm: LlmSettings) -> openai.AsyncOpenAI:
    """An AsyncOpenAI client for `endpoint`; retries are ours (they honour Retry-After and are logged)."""
    key = endpoint.api_key.get_secret_value() if endpoint.api_key else None
    if not key:
        if endpoint.base_url is None:
            raise LlmConfigError("LEADGATE_SCORER=llm needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        key = "not-needed"    # local servers (vLLM, llama.cpp, Ollama) accept any key
    return openai.AsyncOpenAI(api_key=key, base_url=endpoint.base_url, timeout=llm.timeout, max_retries=0)
