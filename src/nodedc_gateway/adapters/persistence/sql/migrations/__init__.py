"""Alembic migrations of the gateway database: one history for PostgreSQL and SQLite."""
