"""HubSpot connector: contacts upserted by email through hubspot-api-client."""

from connectors.crm.hubspot.connector import HubSpotConnector
from connectors.crm.hubspot.settings import HubSpotSettings

CONNECTOR = HubSpotConnector  # what connectors.crm.registry builds for LEADGATE_CRM=hubspot

__all__ = ["CONNECTOR", "HubSpotConnector", "HubSpotSettings"]
