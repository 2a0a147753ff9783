"""The SQL unit of work: one connection and one transaction over every repository."""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nodedc_gateway.adapters.persistence.sql.engine import autocommit, is_sqlite, serialized
from nodedc_gateway.adapters.persistence.sql.oauth import SqlOAuthRepository
from nodedc_gateway.adapters.persistence.sql.repositories import (
    SqlAccessRequestRepository,
    SqlAgentRepository,
    SqlAuditLog,
    SqlGrantRepository,
    SqlIdempotencyStore,
    SqlPairingCodeRepository,
    SqlProjectPolicyRepository,
    SqlTokenRepository,
    SqlWorkSessionRepository,
)
from nodedc_gateway.ports.audit import AuditLog
from nodedc_gateway.ports.repositories import (
    AccessRequestRepository,
    AgentRepository,
    GrantRepository,
    IdempotencyStore,
    OAuthRepository,
    PairingCodeRepository,
    ProjectPolicyRepository,
    TokenRepository,
    WorkSessionRepository,
)

if TYPE_CHECKING:
    from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SqlUnitOfWork:
    """Opens its transaction on entry and rolls back on exit whatever was not committed.

    After `commit` or `rollback` the unit of work may go on: the next statement starts a
    new transaction, which again needs its own `commit`."""

    agents: AgentRepository
    tokens: TokenRepository
    grants: GrantRepository
    pairing_codes: PairingCodeRepository
    idempotency: IdempotencyStore
    audit: AuditLog
    access_requests: AccessRequestRepository
    work_sessions: WorkSessionRepository
    project_policies: ProjectPolicyRepository
    oauth: OAuthRepository

    def __init__(self, engine: AsyncEngine, *, autocommit: bool = False) -> None:
        self._engine = engine
        self._autocommit = autocommit and not is_sqlite(engine)
        self._exit_stack: AsyncExitStack | None = None
        self._connection: AsyncConnection | None = None
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._exit_stack is not None:
            raise RuntimeError("a unit of work is entered once")
        stack = AsyncExitStack()
        try:
            if self._autocommit:  # every statement is its own transaction: no BEGIN/COMMIT
                connection = await stack.enter_async_context(autocommit(self._engine))
            else:
                await stack.enter_async_context(serialized(self._engine))
                connection = await stack.enter_async_context(self._engine.connect())
                await connection.begin()
        except BaseException:
            await stack.aclose()
            raise
        self._exit_stack, self._connection = stack, connection
        self.agents = SqlAgentRepository(connection)
        self.tokens = SqlTokenRepository(connection)
        self.grants = SqlGrantRepository(connection)
        self.pairing_codes = SqlPairingCodeRepository(connection)
        self.idempotency = SqlIdempotencyStore(connection, standalone=self._autocommit)
        self.audit = SqlAuditLog(connection)
        self.access_requests = SqlAccessRequestRepository(connection)
        self.work_sessions = SqlWorkSessionRepository(connection)
        self.project_policies = SqlProjectPolicyRepository(connection)
        self.oauth = SqlOAuthRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, connection = self._exit_stack, self._connection
        if stack is None or connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            self._connection = None
            await stack.aclose()  # returns the connection, then lets the next one in

    async def commit(self) -> None:
        await self._open().commit()
        self.committed = True

    async def rollback(self) -> None:
        await self._open().rollback()

    def _open(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection


class SqlUnitOfWorkFactory:
    """Makes a unit of work per use; engines come from `engine.create_engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self, *, autocommit: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, autocommit=autocommit)


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(factory: SqlUnitOfWorkFactory) -> UnitOfWorkFactory:
        return factory

    def _uow_fits_port(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
