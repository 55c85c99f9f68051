"""The incoming-webhook client: one JSON POST, never a redirect, never an exception, never the URL in an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from leadgate.shared.neutral_text import one_line
from leadgate.shared.redaction import redact


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    http_status: int | None = None
    error: str | None = None


def post_json(url: str, host: str, timeout: float, payload: dict[str, Any]) -> Delivery:
    """POST `payload` to `url`; a failure is a Delivery naming `host` and the HTTP status."""
    try:
        answer = requests.post(
            url,
            json=payload,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            headers={"User-Agent": "leadgate-alerts"},
        )
    except requests.Timeout:
        return Delivery(False, None, f"no answer from {host} within {timeout:g} s")
    except requests.RequestException as exc:
        return Delivery(False, None, f"{type(exc).__name__} talking to {host}")
    if 200 <= answer.status_code < 300:
        return Delivery(True, answer.status_code)
    body = one_line(redact(answer.text or ""))[:200]
    return Delivery(False, answer.status_code, f"HTTP {answer.status_code} from {host}" + (f": {body}" if body else ""))
