"""Secrets never printed, logged or stored: one registry of configured secret values, and its uses.

Every `SecretStr` setting registers its value here when the settings object is built (settings
classes derive from `SecretSettings`). From then on `redact` replaces the value (and its escaped, quoted and
truncated forms) in any text; a log-record factory does so for every log record of the process,
Prefect's console and API handlers included; `redacted_errors` re-raises an exception that carries
a secret as one that does not, so Prefect's state messages and stored results never see it. Every
place that stores or prints a message (meta.runs.error, sync.attempts, the LLM call log, the CLI's
error line) passes it through `redact`.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Shorter values are not registered: redacting a 3-character "secret" would shred every message.
MIN_SECRET_LENGTH = 4
# A message cut off inside a secret (`str(exc)[:200]`) must not keep its first characters either.
MIN_PARTIAL = 6
# A longer piece of a secret's start or end, anywhere in a text ("pat-na1-01234..." cut and continued,
# a "'sk-abc...xyz'" elision, a message starting mid-token), is redacted too: at least MIN_FRAGMENT
# characters and a third of the secret, so a shared opening such as "https://" alone is not a piece.
MIN_FRAGMENT = 8

_lock = threading.Lock()
_forms: dict[str, str] = {}  # a text form of a secret -> the variable it belongs to
_factory_installed = False

F = TypeVar("F", bound=Callable[..., Any])


class SecretSettingError(ValueError):
    """A secret setting is malformed; the message names the variable, never the value."""


class RedactedError(RuntimeError):
    """An error whose original message carried a secret; this one has it redacted."""


def _text_forms(value: str) -> set[str]:
    """The ways a value shows up in messages: as is, repr/bytes-escaped, JSON-escaped, URL-quoted."""
    forms = {
        value,
        value.encode("unicode_escape").decode("ascii"),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register_secret(value: str | SecretStr | None, variable: str) -> None:
    """Remember `value` (the variable's secret) so that `redact` removes it from any text from now on."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        return
    global _factory_installed
    with _lock:
        for form in _text_forms(value) | _text_forms(value.strip()):
            _forms[form] = variable
        if not _factory_installed:
            _install_record_factory()
            _factory_installed = True


def registered_variables() -> set[str]:
    with _lock:
        return set(_forms.values())


def redact(text: Any) -> Any:
    """`text` with every registered secret replaced by `[VARIABLE redacted]` (non-strings pass through)."""
    if not isinstance(text, str) or not _forms:
        return text
    with _lock:
        forms = sorted(_forms.items(), key=lambda item: -len(item[0]))
    for form, variable in forms:
        if form in text:
            text = text.replace(form, f"[{variable} redacted]")
    for form, variable in forms:
        text = _without_fragments(text, form, f"[{variable} redacted]")
    for form, variable in forms:
        # a message truncated inside the secret: its tail is a prefix of the secret
        for size in range(min(len(form) - 1, len(text)), MIN_PARTIAL - 1, -1):
            if text.endswith(form[:size]):
                text = text[:-size] + f"[{variable} redacted]"
                break
    return text


def _without_fragments(text: str, form: str, label: str) -> str:
    """`text` with every long enough piece of `form` that starts (or ends) as `form` does replaced by `label`."""
    size = max(MIN_FRAGMENT, len(form) // 3)
    if len(form) <= size:
        return text
    head, tail = form[:size], form[-size:]
    at = text.find(head)
    while at != -1:
        n = size
        while n < len(form) and at + n < len(text) and text[at + n] == form[n]:
            n += 1
        text = text[:at] + label + text[at + n :]
        at = text.find(head, at + len(label))
    at = text.find(tail)
    while at != -1:
        n = 0  # how far the piece reaches back before the tail
        while n < len(form) - size and at - n > 0 and text[at - n - 1] == form[-size - n - 1]:
            n += 1
        text = text[: at - n] + label + text[at + size :]
        at = text.find(tail, at - n + len(label))
    return text


def redact_value(value: Any) -> Any:
    """`redact` applied to every string inside dicts, lists and tuples (e.g. artifact rows, summaries)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value


def contains_secret(text: Any) -> bool:
    return isinstance(text, str) and redact(text) != text


# ---------------------------------------------------------------------- settings


def checked_secret(value: Any, variable: str) -> Any:
    """Register a raw secret setting; leading/trailing whitespace is an error naming the variable only."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str) or not raw:
        return value
    register_secret(raw, variable)
    if not raw.strip():
        what = "only whitespace"
    elif raw != raw.strip():
        what = "a trailing newline or space" if raw.rstrip() != raw else "a leading space or newline"
    elif any(ord(c) < 32 or ord(c) == 127 for c in raw):
        what = "a control character (a line break inside the value?)"
    elif not raw.isascii():
        what = "a non-ASCII character (a typographic quote pasted with it?)"
    else:
        return value
    # Tokens and keys travel in HTTP headers, where any of these fails later as an obscure transport error.
    raise SecretSettingError(f"{variable} has {what}: remove it; the value is not shown")


class SecretSettings(BaseSettings):
    """Base for settings with secrets: every `SecretStr` field is checked and registered when the settings are built."""

    model_config = SettingsConfigDict(hide_input_in_errors=True)  # a validation error never echoes a value

    @field_validator("*", mode="after")
    @classmethod
    def _register_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        variable = f"{cls.model_config.get('env_prefix', '')}{info.field_name}".upper()
        if isinstance(value, SecretStr):
            checked_secret(value, variable)
        elif isinstance(value, str):
            register_url_password(value, variable)
        return value


def register_url_password(value: str, variable: str) -> None:
    """A password in a URL setting (`https://user:pass@proxy/v1`) is a secret too: registered, as typed and decoded."""
    if "://" not in value or "@" not in value:
        return
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return
    if password:
        register_secret(password, variable)
        register_secret(unquote(password), variable)


# ---------------------------------------------------------------------- logging


def _install_record_factory() -> None:
    """Redact every log record at creation, whatever handler (console, Prefect API, file) later emits it."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:
            pass
        return record

    logging.setLogRecordFactory(factory)


def _redact_record(record: logging.LogRecord) -> None:
    message = record.getMessage()
    cleaned = redact(message)
    # Records without a secret are left exactly as they are (formatters such as uvicorn's read `args`).
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if contains_secret(text):
            record.exc_text = redact(text)
            record.exc_info = None


# ---------------------------------------------------------------------- exceptions


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return seen


def redacted_exception(exc: BaseException) -> BaseException | None:
    """A copy of `exc` without secrets (same type where possible), or None when it carries none."""
    chain = _chain(exc)
    if not any(contains_secret(str(e)) or contains_secret(repr(e)) for e in chain):
        return None
    message = redact(str(exc))
    try:
        clean = copy.copy(exc)
        clean.args = (message,)
        if contains_secret(str(clean)) or contains_secret(repr(clean)):
            raise TypeError("custom __str__")
    except Exception:
        clean = RedactedError(f"{type(exc).__name__}: {message}")
    clean.__cause__, clean.__suppress_context__ = None, True
    return clean.with_traceback(exc.__traceback__)


def redacted_errors(fn: F) -> F:
    """Decorator: an exception leaving `fn` carries no registered secret (message, repr or chained cause)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            clean = redacted_exception(exc)
            if clean is None:
                raise
            raise clean from None

    return wrapper  # type: ignore[return-value]
