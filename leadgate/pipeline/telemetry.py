"""Telemetry of dbt, Prefect and GX is off unless the user turns it on (LEADGATE_TELEMETRY=on)."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

# Each library's own switch; a value the user set explicitly is left as it is.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",  # dbt (and the convention others follow)
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # dbt: otherwise it looks up its tracking host
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # Prefect's server: otherwise "Failed to send telemetry" errors
    "GX_ANALYTICS_ENABLED": "false",  # Great Expectations
}


def telemetry_wanted(environ: MutableMapping[str, str]) -> bool:
    return environ.get("LEADGATE_TELEMETRY", "").strip().lower() in {"on", "1", "true", "yes"}


def apply_telemetry_defaults(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the libraries' telemetry switches to off where unset (at process start); returns what was set."""
    env = os.environ if environ is None else environ
    if telemetry_wanted(env):
        return {}
    applied = {}
    for key, value in TELEMETRY_OFF.items():
        if not env.get(key):
            env[key] = value
            applied[key] = value
    return applied
