"""The steps of one run (ingest, dbt, score/gate/route, sync), its summary, recovery, interrupts and telemetry defaults."""
