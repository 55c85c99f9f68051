"""Salesforce settings (`SALESFORCE_*`), read at the edge and passed to the connector."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.crm.base import CrmNotReady
from connectors.crm.mapping import MAPPINGS_DIR
from connectors.crm.settings import CrmSettings

LEAD = "Lead"
CONTACT = "Contact"
COLLECTION_LIMIT = 200  # sObject Collections: records per call


class SalesforceSettings(CrmSettings):
    """Where the org is, how to authenticate, and how hard to push it."""

    model_config = SettingsConfigDict(env_prefix="SALESFORCE_", env_file=".env", extra="ignore")

    instance_url: str | None = None
    access_token: SecretStr | None = None  # a session id; never logged
    api_version: str = Field(default="59.0", pattern=r"^\d+\.\d$")
    external_id_field: str = Field(default="Leadgate_Id__c", pattern=r"^[A-Za-z][A-Za-z0-9_]*__c$")
    bulk_threshold: int = Field(default=10_000, ge=0, description="more upserts than this go through Bulk API 2.0")
    auto_assign: bool = True  # Sforce-Auto-Assign: let assignment rules pick owners
    api_limit_margin: int = Field(default=1_000, ge=0, description="daily API requests kept in reserve")
    bulk_poll_seconds: float = Field(default=2.0, gt=0)
    lookup_batch_size: int = Field(default=300, ge=1, le=1000)
    mapping: Path = MAPPINGS_DIR / "salesforce" / "mapping.yaml"

    def require_credentials(self) -> None:
        """Raise CrmNotReady, naming the variables, when the org cannot be reached as configured."""
        missing = [
            name
            for name, value in (
                ("SALESFORCE_INSTANCE_URL", self.instance_url),
                ("SALESFORCE_ACCESS_TOKEN", self.access_token),
            )
            if not value
        ]
        if missing:
            raise CrmNotReady(f"a live Salesforce sync needs {' and '.join(missing)}")
        if not self.instance_url.startswith("https://"):
            raise CrmNotReady(f"SALESFORCE_INSTANCE_URL must be an https:// URL, got {self.instance_url!r}")
