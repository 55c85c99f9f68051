"""Outbound alert channels (incoming webhooks)."""
