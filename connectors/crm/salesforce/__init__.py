"""Salesforce connector: Leads upserted by leadgate's external id through simple-salesforce."""

from connectors.crm.salesforce.connector import SalesforceConnector
from connectors.crm.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "SalesforceSettings"]
