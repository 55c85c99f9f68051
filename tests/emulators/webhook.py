"""A Slack / Microsoft Teams incoming-webhook receiver over real HTTP(S) that records every message.

Paths decide the dialect: `/slack/...` answers as Slack does (200 `ok`; 400 `invalid_payload` for a body
that is not JSON, `no_text` without `text` or `blocks`), `/teams/...` as a Teams Workflows webhook (202
Accepted; 400 unless the body is a message with an Adaptive Card attachment). Faults (`fail`, `slow`)
come from the shared emulator base.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulators._server import Answer, EmulatorBase, Fault

ADAPTIVE = "application/vnd.microsoft.card.adaptive"


class WebhookReceiver(EmulatorBase):
    """Incoming-webhook stand-in; `slack_url` / `teams_url` are the webhook URLs to configure."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context=ssl_context)

    @property
    def slack_url(self) -> str:
        return f"{self.url}/slack/services/T0000/B0000/abcdefghijklmnopqrstuvwx"

    @property
    def teams_url(self) -> str:
        return f"{self.url}/teams/workflows/abcdef0123456789/triggers/manual/paths/invoke?sig=s3cr3tsignature"

    def messages(self, kind: str) -> list[Any]:
        """The JSON bodies received on `kind` ('slack' or 'teams'), in order."""
        return [r.json() for r in self.requests_of(kind)]

    def classify(self, method: str, path: str) -> str:
        if path.startswith("/slack/"):
            return "slack"
        if path.startswith("/teams/"):
            return "teams"
        return "unknown"

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        return None  # the URL is the credential

    def route(
        self, kind: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Answer:
        if method != "POST" or kind == "unknown":
            return Answer(404, b"no_service", "text/plain")
        try:
            payload = json.loads(body)
        except ValueError:
            return Answer(400, b"invalid_payload", "text/plain")
        if kind == "slack":
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return Answer(400, b"no_text", "text/plain")
            return Answer(200, b"ok", "text/plain")
        attachments = payload.get("attachments") if isinstance(payload, dict) else None
        if (
            payload.get("type") != "message"
            or not attachments
            or any(
                a.get("contentType") != ADAPTIVE or (a.get("content") or {}).get("type") != "AdaptiveCard"
                for a in attachments
            )
        ):
            return Answer(400, json.dumps({"error": {"code": "InvalidRequestContent"}}).encode())
        return Answer(202, b"")

    def fault_answer(self, kind: str, fault: Fault) -> Answer:
        return Answer(
            fault.status, b"server_error" if fault.body is None else json.dumps(fault.body).encode(), "text/plain"
        )


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    """One webhook receiver for a test module; import it (and `hooks`) into the module."""
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def hooks(receiver: WebhookReceiver) -> WebhookReceiver:
    """The module's receiver with no traffic recorded yet."""
    receiver.reset_traffic()
    return receiver
