"""Property: personal data in any of its shapes, in messages or in fields, never reaches the LLM endpoint.

Hypothesis writes emails (international, full-width, obfuscated, zero-width split), phone numbers in
international formats, card numbers, IBANs and national ids into a lead's message, company,
industry and country; the lead goes through the real scorer and openai client to the emulator, and
the test reads what the emulator received over HTTP.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from leadgate.config import LeadgateSettings
from leadgate.store import db
from tests.emulators.openai_server import OpenAIEmulator
from tests.fixtures.llm.pii_strategies import PII, TEMPLATES
from tests.integration.test_llm_scorer import lead_frame, run_llm, synthetic_rows


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).casefold()


@pytest.fixture(scope="module")
def emulator():
    with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("pii-property")
    return LeadgateSettings(db=root / "leadgate.duckdb", inbox=root, lock_timeout=5.0, _env_file=None)


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    message_pii=PII,
    field_pii=PII,
    template=st.sampled_from(TEMPLATES),
    field=st.sampled_from(["company", "industry", "country"]),
)
def test_no_generated_pii_reaches_the_endpoint(module_settings, emulator, message_pii, field_pii, template, field):
    emulator.reset()
    with db.connect(module_settings) as con:  # every example is asked afresh, not answered from the cache
        con.execute("delete from scoring.llm_cache")
    shown, secrets = message_pii
    field_shown, field_secrets = field_pii
    row = synthetic_rows(1, template=1)[0] | {"latest_message": template.format(pii=shown), field: field_shown}
    run_llm(module_settings, emulator, lead_frame([row]), run_id=None)
    assert emulator.scored("score"), "the lead was not sent at all"
    for request in emulator.requests:
        assert shown not in request.raw and field_shown not in request.raw
        sent = [_compact(text) for lead in request.leads for text in _strings(lead)]
        for secret in secrets + field_secrets:
            assert not any(_compact(secret) in text for text in sent), (secret, shown, field_shown, request.leads)


def _strings(value):
    """Every string inside a lead as the endpoint received it."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
