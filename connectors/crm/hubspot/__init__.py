"""HubSpot connector: contacts upserted by email through hubspot-api-client."""

from connectors.crm.hubspot.connector import HubSpotConnector
from connectors.crm.hubspot.settings import HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotSettings"]
