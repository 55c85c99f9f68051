"""The staging database: connections and locks, migrations, lifecycle states, review items, LLM cache, invariants, erasure, the read copy."""
