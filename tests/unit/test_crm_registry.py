"""The list of CRMs in leadgate.shared.crms is the one source: LEADGATE_CRM, the connector registry and every
message that tells a person which CRM to set are read from it."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from connectors.crm import registry
from leadgate.config import LeadgateSettings
from leadgate.shared.crms import CRMS, crm_choices


def test_leadgate_crm_accepts_none_and_exactly_the_listed_crms():
    assert CRMS == ("salesforce", "hubspot")
    assert get_args(LeadgateSettings.model_fields["crm"].annotation) == ("none", *CRMS)
    for name in CRMS:
        assert LeadgateSettings(crm=name, _env_file=None).crm == name
    with pytest.raises(ValidationError, match="'none', 'salesforce' or 'hubspot'"):
        LeadgateSettings(crm="pipedrive", _env_file=None)


def test_the_registry_has_a_connector_for_each_listed_crm_and_no_other():
    assert registry.CRMS is CRMS
    for name in CRMS:
        connector = registry.connector_class(name)
        assert connector.name == name
        assert connector.settings_class.model_config["env_prefix"] == f"{name.upper()}_"
    with pytest.raises(
        ValueError, match="^no CRM connector for 'pipedrive': set LEADGATE_CRM=salesforce or LEADGATE_CRM=hubspot$"
    ):
        registry.connector_class("pipedrive")


def test_every_message_asking_for_a_crm_names_each_listed_crm(monkeypatch, tmp_path):
    from connectors.crm.registry import CrmSettingsError
    from leadgate.cli.app import _crm_connector
    from leadgate.pipeline.steps import make_connector
    from leadgate.sync.outbox import SyncError, run_sync

    assert crm_choices() == "LEADGATE_CRM=salesforce or LEADGATE_CRM=hubspot"
    live = LeadgateSettings(sync_mode="live", crm="none", db=tmp_path / "db.duckdb", _env_file=None)
    with pytest.raises(SyncError) as from_pipeline:
        make_connector(live)
    with pytest.raises(SyncError) as from_sync:
        run_sync(live, None, crm="none", mode="live", connector=None)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("LEADGATE_CRM", "none")
    with pytest.raises(CrmSettingsError) as from_cli:
        _crm_connector()
    assert [str(err.value) for err in (from_pipeline, from_sync, from_cli)] == [
        f"LEADGATE_SYNC_MODE=live needs a CRM: set {crm_choices()}",
        f"live sync needs {crm_choices()}",
        f"`leadgate crm` needs {crm_choices()}",
    ]
    assert not (tmp_path / "db.duckdb").exists()  # refused before any database is opened
