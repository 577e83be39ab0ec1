"""The warehouse kernel every command stands on: targets (dbt's profiles), connections to
DuckDB, PostgreSQL and Spark with one way of waiting for a lock, and bookkeeping tables."""
