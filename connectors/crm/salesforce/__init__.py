"""Salesforce connector: Leads upserted by leadgate's external id through simple-salesforce."""

from connectors.crm.salesforce.connector import SalesforceConnector
from connectors.crm.salesforce.settings import SalesforceSettings

CONNECTOR = SalesforceConnector  # what connectors.crm.registry builds for LEADGATE_CRM=salesforce

__all__ = ["CONNECTOR", "SalesforceConnector", "SalesforceSettings"]
