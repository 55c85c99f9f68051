"""Red-team variants of secret redaction (issue 8 item 4): pieces of a token inside a message, and
passwords in URL settings."""

from __future__ import annotations

import logging
import secrets as stdlib_secrets

import pytest

from connectors.crm.hubspot.settings import HubSpotSettings
from connectors.llm.settings import OpenAISettings
from leadgate.shared.redaction import redact, register_secret


def _token() -> str:
    return "pat-na1-" + stdlib_secrets.token_hex(16)


@pytest.mark.parametrize(
    "shape",
    [
        "Invalid header value b'Bearer {head}...' (truncated)",  # cut, then more text
        "token {head}\u2026 rejected",  # cut with an ellipsis character
        "input_value='{head}...{tail}'",  # an elided repr
        "Authorization: Bearer {head}\nHost: api",  # cut at a line break
        "...{tail} was refused",  # a message starting inside the token
    ],
)
def test_a_long_piece_of_a_token_anywhere_in_a_message_is_redacted(shape):
    token = _token()
    register_secret(token, "HUBSPOT_ACCESS_TOKEN")
    head, tail = token[: len(token) // 2], token[-(len(token) // 2) :]
    out = redact(shape.format(head=head, tail=tail))
    assert "[HUBSPOT_ACCESS_TOKEN redacted]" in out
    assert token[8:20] not in out and token[-12:] not in out, out


def test_a_shared_opening_alone_is_not_redacted():
    register_secret("https://hooks.example/services/" + stdlib_secrets.token_hex(12), "LEADGATE_WEBHOOK_URL")
    assert redact("GET https://api.hubapi.com/crm/v3 failed") == "GET https://api.hubapi.com/crm/v3 failed"


@pytest.mark.parametrize(
    "variable, build",
    [
        ("HUBSPOT_BASE_URL", lambda: HubSpotSettings(_env_file=None)),
        ("OPENAI_BASE_URL", lambda: OpenAISettings(_env_file=None)),
    ],
)
def test_a_password_in_a_url_setting_is_redacted_from_messages_and_logs(monkeypatch, variable, build):
    password = "Pw" + stdlib_secrets.token_hex(8) + "@x"
    url = f"https://ops:{password.replace('@', '%40')}@proxy.example:8443/v1"
    monkeypatch.setenv(variable, url)
    build()
    assert password not in redact(f"ConnectError for url {url!r}") and "%40" not in redact(url)
    assert redact(f"login as ops with {password}") == f"login as ops with [{variable} redacted]"
    record = logging.getLogger("httpx").makeRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: POST %s", (url,), None
    )
    assert password.replace("@", "%40") not in record.getMessage()
