"""Secrets never printed, logged or stored: the registry, the settings check, logs and exceptions."""

from __future__ import annotations

import io
import json
import logging
import secrets as stdlib_secrets
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from connectors.crm.registry import CrmSettingsError, crm_settings
from connectors.llm import LlmConfigError
from connectors.llm.settings import OpenAISettings
from leadgate.config import load_llm_settings
from leadgate.shared.redaction import RedactedError, redact, redact_value, redacted_errors, register_secret


def _token(prefix: str = "pat-na1-") -> str:
    return prefix + stdlib_secrets.token_hex(16)


def test_a_registered_secret_is_redacted_in_every_form_it_shows_up_in():
    token = _token() + "/+="  # characters that URL-quoting and JSON change
    register_secret(token, "HUBSPOT_ACCESS_TOKEN")
    for text in (
        f"Bearer {token}",
        repr(f"Bearer {token}\n".encode()),
        json.dumps({"h": token}),
        quote(token, safe=""),
        f"cut off: {token[:12]}",
    ):
        out = redact(text)
        assert token not in out and token[:12] not in out, out
        assert "[HUBSPOT_ACCESS_TOKEN redacted]" in out
    assert redact("nothing secret here") == "nothing secret here"
    assert redact_value({"rows": [("x", f"a {token}")]}) == {"rows": [("x", "a [HUBSPOT_ACCESS_TOKEN redacted]")]}


@pytest.mark.parametrize(
    "crm, variable", [("hubspot", "HUBSPOT_ACCESS_TOKEN"), ("salesforce", "SALESFORCE_ACCESS_TOKEN")]
)
@pytest.mark.parametrize("damage", ["{}\n", "{}\r\n", "{} ", "\t{}", " {}", "{}\u00a0", "pre\n{}", "{}\u2019"])
def test_a_malformed_crm_token_is_a_config_error_naming_the_variable_not_the_value(monkeypatch, crm, variable, damage):
    token = _token()
    monkeypatch.setenv(variable, damage.format(token))
    with pytest.raises(CrmSettingsError) as caught:
        crm_settings(crm, _env_file=None)
    message = str(caught.value)
    assert variable in message and token not in message and token[8:20] not in message
    # and from now on the value is redacted wherever it would appear
    assert token not in redact(f"Invalid header value b'Bearer {damage.format(token)}'")


def test_a_malformed_openai_key_is_a_config_error_naming_the_variable(monkeypatch):
    key = _token("sk-proj-")
    monkeypatch.setenv("OPENAI_API_KEY", key + "\n")
    with pytest.raises(LlmConfigError) as caught:
        load_llm_settings()
    assert "OPENAI_API_KEY" in str(caught.value) and "newline" in str(caught.value) and key not in str(caught.value)


def test_a_clean_secret_is_accepted_and_registered(monkeypatch):
    key = _token("sk-")
    endpoint = OpenAISettings(_env_file=None, api_key=SecretStr(key))
    assert endpoint.api_key.get_secret_value() == key
    assert redact(f"key={key}") == "key=[OPENAI_API_KEY redacted]"
    monkeypatch.setenv("OPENAI_API_KEY", "   ")
    assert OpenAISettings(_env_file=None).api_key is None  # blank still means "not set"


def test_every_log_record_is_redacted_whatever_handler_emits_it():
    token = _token()
    register_secret(token, "HUBSPOT_ACCESS_TOKEN")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("leadgate.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending %s", f"Bearer {token}")
        try:
            raise ValueError(f"Invalid header value b'Bearer {token}\\n'")
        except ValueError:
            logger.exception("upsert failed")
        logger.info("plain %s line", "untouched")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert token not in text and "sending Bearer [HUBSPOT_ACCESS_TOKEN redacted]" in text
    assert "ValueError: Invalid header value" in text  # the traceback is still there, redacted


def test_an_exception_carrying_a_secret_leaves_redacted_with_its_type_and_no_chained_original():
    token = _token()
    register_secret(token, "SALESFORCE_ACCESS_TOKEN")

    @redacted_errors
    def upsert():
        try:
            raise OSError(f"header b'Bearer {token}\\n'")
        except OSError as exc:
            raise ValueError(f"Invalid header value b'Bearer {token}\\n'") from exc

    with pytest.raises(ValueError) as caught:
        upsert()
    assert token not in str(caught.value) and "[SALESFORCE_ACCESS_TOKEN redacted]" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    class Custom(Exception):
        def __str__(self) -> str:
            return f"custom {token}"

    @redacted_errors
    def custom():
        raise Custom()

    with pytest.raises(RedactedError, match=r"Custom: custom \[SALESFORCE_ACCESS_TOKEN redacted\]"):
        custom()

    original = KeyError("no secret")

    @redacted_errors
    def innocent():
        raise original

    with pytest.raises(KeyError) as plain:
        innocent()
    assert plain.value is original


def test_any_settings_class_with_a_secret_field_is_covered(monkeypatch):
    """A webhook URL or token added later is registered and checked just by being a SecretStr on SecretSettings."""
    from pydantic_settings import SettingsConfigDict

    from leadgate.shared.redaction import SecretSettings

    class WebhookSettings(SecretSettings):
        model_config = SettingsConfigDict(env_prefix="LEADGATE_WEBHOOK_")
        url: SecretStr | None = None

    hook = "https://hooks.example/services/T0/B0/" + stdlib_secrets.token_hex(12)
    monkeypatch.setenv("LEADGATE_WEBHOOK_URL", hook)
    WebhookSettings(_env_file=None)
    assert redact(f"POST {hook} failed") == "POST [LEADGATE_WEBHOOK_URL redacted] failed"
    monkeypatch.setenv("LEADGATE_WEBHOOK_URL", hook + "\n")
    with pytest.raises(ValueError, match="LEADGATE_WEBHOOK_URL has a trailing newline") as caught:
        WebhookSettings(_env_file=None)
    assert hook not in str(caught.value)
