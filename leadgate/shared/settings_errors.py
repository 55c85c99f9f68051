"""A pydantic ValidationError of environment settings as one line naming each variable."""

from __future__ import annotations

from pydantic import ValidationError


def settings_error_line(exc: ValidationError, prefix: str, lead: str = "invalid setting") -> str:
    """`invalid setting PREFIX_FIELD: message; ...`: the variable a user sets, not pydantic's location."""
    parts = [f"{prefix}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
    return f"{lead} " + "; ".join(parts)
