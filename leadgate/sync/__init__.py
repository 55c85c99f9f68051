"""The CRM sync: the neutral payload, the outbox service, the intent log and the preview."""
