"""Routing: the policy rules from scores to a lifecycle state, and the Great Expectations quality gate."""
