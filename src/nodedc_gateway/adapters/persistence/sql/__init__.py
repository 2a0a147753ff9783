"""Persistence on PostgreSQL and SQLite: Core tables, repositories and a unit of work."""

from nodedc_gateway.adapters.persistence.sql.callers import SqlCallerLookup
from nodedc_gateway.adapters.persistence.sql.engine import create_engine, transaction
from nodedc_gateway.adapters.persistence.sql.tables import metadata
from nodedc_gateway.adapters.persistence.sql.unit_of_work import (
    SqlUnitOfWork,
    SqlUnitOfWorkFactory,
)

__all__ = [
    "SqlCallerLookup",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "create_engine",
    "metadata",
    "transaction",
]
