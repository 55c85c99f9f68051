"""A bad setting is one line naming the variable a user sets, the same way for LEADGATE_*, LLM and CRM settings."""

from __future__ import annotations

import pytest

from connectors.crm.registry import CrmSettingsError, crm_settings
from connectors.llm import LlmConfigError
from leadgate.config import LeadgateSettings, load_llm_settings


def test_a_bad_crm_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("HUBSPOT_REQUESTS_PER_10S", "-3")
    monkeypatch.setenv("HUBSPOT_MAX_ATTEMPTS", "many")
    with pytest.raises(CrmSettingsError) as err:
        crm_settings("hubspot", _env_file=None)
    text = str(err.value)
    assert text.startswith("invalid setting ") and "\n" not in text
    assert "HUBSPOT_REQUESTS_PER_10S: Input should be greater than or equal to 0" in text
    assert "HUBSPOT_MAX_ATTEMPTS: Input should be a valid integer" in text
    assert "many" not in text  # values are not echoed (they may be secrets)


def test_a_bad_llm_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("LEADGATE_LLM_BATCH_SIZE", "0")
    with pytest.raises(LlmConfigError, match=r"^invalid LLM setting LEADGATE_LLM_BATCH_SIZE: Input should be greater"):
        load_llm_settings()


def test_a_bad_leadgate_setting_is_one_line_at_the_command_line(monkeypatch):
    from pydantic import ValidationError

    from leadgate.cli.app import _error_text

    monkeypatch.setenv("LEADGATE_LOCK_TIMEOUT", "soon")
    with pytest.raises(ValidationError) as err:
        LeadgateSettings(_env_file=None)
    assert (
        _error_text(err.value)
        == "invalid setting LEADGATE_LOCK_TIMEOUT: Input should be a valid number, unable to parse string as a number"
    )
