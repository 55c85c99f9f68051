-- The review loop per UTC day: exception rate, latency, SLA breaches, overrides, CRM and LLM errors.
{{ review_metrics_by('day', 'day') }}
