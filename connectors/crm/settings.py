"""The settings every CRM connector has: request timeout and the retry policy (`<CRM>_*`)."""

from __future__ import annotations

from pydantic import Field

from leadgate.shared.redaction import SecretSettings


class CrmSettings(SecretSettings):
    """Timeout and retries; a CRM's settings class adds its env prefix, credentials and limits."""

    timeout_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
