"""What connectors may import from leadgate: shared types (Prompt), the CRM names, the email rule, redaction,
neutral text."""
