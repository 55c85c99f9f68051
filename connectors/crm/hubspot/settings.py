"""HubSpot settings (`HUBSPOT_*`), read at the edge and passed to the connector."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connectors.crm.base import CrmNotReady
from connectors.crm.mapping import MAPPINGS_DIR
from connectors.crm.settings import CrmSettings

BATCH_LIMIT = 100  # inputs per batch upsert / batch read call
WINDOW_SECONDS = 10.0


class HubSpotSettings(CrmSettings):
    """The private-app token, the API host, and how hard to push it."""

    model_config = SettingsConfigDict(env_prefix="HUBSPOT_", env_file=".env", extra="ignore")

    access_token: SecretStr | None = None  # never logged
    base_url: str = "https://api.hubapi.com"
    requests_per_10s: int = Field(default=100, ge=0, description="proactive limit; 0 = none")
    property_group: str = "contactinformation"
    mapping: Path = MAPPINGS_DIR / "hubspot" / "mapping.yaml"

    def require_credentials(self) -> None:
        """Raise CrmNotReady when the token is missing."""
        if not self.access_token or not self.access_token.get_secret_value():
            raise CrmNotReady("a live HubSpot sync needs HUBSPOT_ACCESS_TOKEN (a private-app token)")
