"""A refused OpenAI key says so (not "Connection error"), and the key never reaches a message or the call log."""

from __future__ import annotations

import secrets as stdlib_secrets

import pytest
from pydantic import SecretStr

from connectors.llm import LlmConfigError, OpenAISettings
from leadgate.scoring.llm import score_with_llm
from leadgate.store import db
from tests.emulators.openai_server import OpenAIEmulator
from tests.integration.test_llm_scorer import NOW, POLICY, lead_frame, llm_settings, synthetic_rows


@pytest.fixture(scope="module")
def strict_emu():
    """An emulator that, like OpenAI, answers 401 invalid_api_key to any key but its own."""
    with OpenAIEmulator(api_key="sk-proj-the-right-key-0001") as emulator:
        yield emulator


def _score(settings, emulator, key: str):
    endpoint = OpenAISettings(_env_file=None, api_key=SecretStr(key), base_url=emulator.base_url)
    return score_with_llm(
        settings, POLICY, lead_frame(synthetic_rows(3)), NOW, run_id="run-key", llm=llm_settings(), endpoint=endpoint
    )


def test_a_wrong_key_is_reported_as_refused_with_the_variable_and_without_the_key(settings, strict_emu):
    wrong = "sk-proj-" + stdlib_secrets.token_hex(20)
    with pytest.raises(LlmConfigError) as caught:
        _score(settings, strict_emu, wrong)
    message = str(caught.value)
    assert "refused" in message and "OPENAI_API_KEY" in message and "invalid_api_key" in message
    assert "connection" not in message.lower() and wrong not in message and wrong[-6:] not in message
    assert strict_emu.requests[-1].status == 401
    with db.connect(settings) as con:
        logged = con.execute("select count(*), string_agg(coalesce(error, ''), ' ') from scoring.llm_calls").fetchall()[
            0
        ]
    assert logged[0] == 1 and wrong not in (logged[1] or "")


def test_the_right_key_scores(settings, strict_emu):
    result = _score(settings, strict_emu, "sk-proj-the-right-key-0001")
    assert set(result.final["llm_outcome"]) == {"ok"}
