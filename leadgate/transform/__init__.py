"""Running dbt in-process against the staging database, and dbt docs against the read copy."""
