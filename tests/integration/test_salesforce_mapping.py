"""Field mapping files (shared by both CRMs): validation at load, overwrite rules, previews."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.crm.mapping import (
    MappingError,
    crm_values,
    default_mapping,
    diff_fields,
    fields_to_send,
    load_mapping,
    neutral_payload,
)
from tests.emulators.fixtures import fixture_lead

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_the_shipped_mappings_load_and_name_their_version(crm):
    mapping = default_mapping(crm)
    assert mapping.crm == crm and mapping.version
    assert {"email", "score", "confidence", "top_reasons", "reviewer_summary", "policy_version"} <= set(mapping.fields)


@pytest.mark.parametrize(
    "name,message",
    [
        ("mapping_unknown_field.yaml", r"mapping_unknown_field.yaml: fields: unknown lead field 'favourite_colour'"),
        (
            "mapping_bad_rule.yaml",
            r"mapping_bad_rule.yaml: fields.job_title.overwrite: Input should be 'always' or 'if_empty'",
        ),
        ("mapping_same_target.yaml", r"fields: 'job_title' and 'industry' both map to 'JobTitle'"),
    ],
)
def test_an_invalid_mapping_fails_at_load_with_one_clear_line(name, message):
    with pytest.raises(MappingError, match=message) as err:
        load_mapping(FIXTURES / name)
    assert "\n" not in str(err.value)


def test_a_mapping_for_another_crm_or_a_missing_file_is_refused():
    with pytest.raises(MappingError, match="is a salesforce mapping, expected hubspot"):
        load_mapping(FIXTURES / "mapping_salesforce_ok.yaml", crm="hubspot")
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(FIXTURES / "nope.yaml")


def test_values_are_rendered_for_the_crm_and_if_empty_respects_current_values():
    mapping = default_mapping("salesforce")
    lead = fixture_lead("complete")
    values = crm_values(mapping, neutral_payload(lead.lead_id, lead.payload))
    assert values["Leadgate_Score__c"] == 0.88 and values["Leadgate_Confidence__c"] == 0.91
    assert values["Leadgate_Reasons__c"].splitlines()[0] == "Requested a demo"
    assert values["Leadgate_Summary__c"] == "Approved: strong fit, demo requested."

    current = {"FirstName": "Augusta", "Title": "  ", "Company": None}
    sent = fields_to_send(mapping, values, current, creating=False)
    assert "FirstName" not in sent and sent["Title"] == "CTO" and sent["Company"] == "Analytical Engines"
    assert sent["Leadgate_Score__c"] == 0.88  # always
    assert "FirstName" not in fields_to_send(mapping, values, None, creating=False)  # unknown: keep theirs
    assert fields_to_send(mapping, values, None, creating=True)["FirstName"] == "Ada"


def test_diff_fields_lists_the_crm_fields_a_new_payload_changes():
    mapping = default_mapping("hubspot")
    old = fixture_lead("complete").payload
    new = {**old, "score": 0.5, "job_title": "CEO"}
    assert diff_fields(mapping, old, new) == {"jobtitle": ("CTO", "CEO"), "leadgate_score": (0.88, 0.5)}
