"""A tiny ledger kept in one PostgreSQL table, for the pg_parallel example."""
