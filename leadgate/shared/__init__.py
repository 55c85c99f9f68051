"""What connectors may import from leadgate: shared types (Prompt), the email rule, redaction, neutral text."""
