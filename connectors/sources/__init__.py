"""Pulls from the CRMs and webhooks (coming): one sub-package per source, the SDK touched in one client factory."""
