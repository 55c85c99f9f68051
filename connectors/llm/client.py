"""The one place that touches the OpenAI SDK: the client factory, and one structured-output request
with the SDK's answers and errors translated into leadgate's terms."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ValidationError

from connectors.llm.settings import LlmSettings, OpenAISettings
from leadgate.shared.redaction import redact
from leadgate.shared.retry import retry_after_from_headers


class LlmConfigError(RuntimeError):
    """The endpoint refused us for a reason retries cannot fix (bad key, unknown model, bad URL)."""


def make_async_client(endpoint: OpenAISettings, llm: LlmSettings) -> openai.AsyncOpenAI:
    """An AsyncOpenAI client for `endpoint`; retries are ours (they honour Retry-After and are logged)."""
    key = endpoint.api_key.get_secret_value() if endpoint.api_key else None
    if not key:
        if endpoint.base_url is None:
            raise LlmConfigError("LEADGATE_SCORER=llm needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        key = "not-needed"  # local servers (vLLM, llama.cpp, Ollama) accept any key
    return openai.AsyncOpenAI(api_key=key, base_url=endpoint.base_url, timeout=llm.timeout, max_retries=0)


@dataclass
class ChatResult:
    """One chat-completion attempt in leadgate's terms: the parsed answer or why there is none, and usage."""

    parsed: BaseModel | None = None
    failure: str | None = None  # records.CONTENT_FAILURES / TRANSPORT_FAILURES, None when parsed
    error: str | None = None
    request_id: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    retry_after: float | None = None  # the endpoint's requested wait (429)


def _error_code(exc: openai.APIStatusError) -> str:
    """The endpoint's error code (e.g. invalid_api_key), never its message (it may quote part of the key)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    return str(inner.get("code") or "unauthorized")


async def chat_once(
    client: openai.AsyncOpenAI,
    llm: LlmSettings,
    messages: list[dict[str, str]],
    response_format: type[BaseModel],
    max_tokens: int,
) -> ChatResult:
    """One structured-output request; SDK errors become failures, or LlmConfigError when retries cannot help."""
    extra = {} if llm.temperature is None else {"temperature": llm.temperature}
    try:
        raw = await client.chat.completions.with_raw_response.parse(
            model=llm.model,
            messages=messages,
            response_format=response_format,
            max_completion_tokens=max_tokens,
            **extra,
        )
        return _read(raw)
    except openai.APITimeoutError:
        return ChatResult(failure="timeout", error=f"no answer within {llm.timeout:g}s")
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, httpx.LocalProtocolError):
            # the request could not even be written (e.g. a header the key made illegal): not transient
            raise LlmConfigError(
                "the request to the LLM endpoint could not be sent: "
                f"{redact(str(exc.__cause__))[:150]}; check OPENAI_API_KEY"
            ) from None
        return ChatResult(failure="connection_error", error=redact(str(exc))[:200])
    except openai.AuthenticationError as exc:
        raise LlmConfigError(
            f"the LLM endpoint refused the key in OPENAI_API_KEY ({exc.status_code} {_error_code(exc)}): "
            "it is wrong, revoked, or for another endpoint (OPENAI_BASE_URL)"
        ) from None
    except (openai.PermissionDeniedError, openai.NotFoundError) as exc:
        raise LlmConfigError(
            f"the LLM endpoint refused the request ({exc.status_code}): check OPENAI_API_KEY, "
            f"OPENAI_BASE_URL and LEADGATE_LLM_MODEL={llm.model!r}"
        ) from None
    except openai.APIStatusError as exc:
        if exc.status_code == 429:
            return ChatResult(
                failure="rate_limited",
                error="429 too many requests",
                request_id=exc.request_id,
                retry_after=retry_after_from_headers(exc.response.headers),
            )
        failure = "server_error" if exc.status_code >= 500 else "bad_request"
        return ChatResult(
            failure=failure, error=f"{exc.status_code} {redact(str(exc))[:150]}", request_id=exc.request_id
        )


def _read(raw: Any) -> ChatResult:
    """Usage and request id first (they are logged whatever happens), then the parsed answer."""
    result = ChatResult(request_id=raw.request_id or raw.headers.get("x-request-id"))
    try:
        usage = (raw.http_response.json() or {}).get("usage") or {}
        result.tokens_in = int(usage.get("prompt_tokens") or 0)
        result.tokens_out = int(usage.get("completion_tokens") or 0)
    except (ValueError, AttributeError, TypeError):
        pass
    try:
        completion = raw.parse()
    except openai.LengthFinishReasonError:
        return replace(result, failure="truncated", error="finish_reason length: the answer was cut off")
    except openai.ContentFilterFinishReasonError:
        return replace(result, failure="refusal", error="finish_reason content_filter")
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        failure = "invalid_json" if kinds & {"json_invalid", "json_type"} else "schema_violation"
        return replace(result, failure=failure, error=str(exc.errors()[0]["msg"])[:200])
    except (ValueError, json.JSONDecodeError) as exc:
        return replace(result, failure="invalid_json", error=str(exc)[:200])
    message = completion.choices[0].message if completion.choices else None
    if message is None:
        return replace(result, failure="invalid_json", error="no choices in the response")
    if message.refusal:
        return replace(result, failure="refusal", error=message.refusal[:200])
    if message.parsed is None:
        return replace(result, failure="invalid_json", error="empty content")
    return replace(result, parsed=message.parsed)
