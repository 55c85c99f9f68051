"""Telemetry of dbt, Prefect and GX is off unless the user says otherwise."""

from __future__ import annotations

from leadgate.pipeline.telemetry import TELEMETRY_OFF, apply_telemetry_defaults


def test_unset_switches_are_turned_off():
    env: dict[str, str] = {"PATH": "/bin"}
    apply_telemetry_defaults(env)
    assert env == {
        "PATH": "/bin",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }


def test_a_value_the_user_set_is_kept():
    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "true"}
    apply_telemetry_defaults(env)
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "true" and env["DO_NOT_TRACK"] == "1"


def test_leadgate_telemetry_on_leaves_every_library_at_its_default():
    env = {"LEADGATE_TELEMETRY": "on"}
    assert apply_telemetry_defaults(env) == {}
    assert not set(TELEMETRY_OFF) & set(env)
