"""Scoring: the transparent baseline, the LLM glue, PII scrubbing and the vocabularies and prompts that leave for the LLM."""
