"""The unit of work: one transaction over every repository, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

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


class UnitOfWork(Protocol):
    @property
    def agents(self) -> AgentRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def grants(self) -> GrantRepository: ...

    @property
    def pairing_codes(self) -> PairingCodeRepository: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def access_requests(self) -> AccessRequestRepository: ...

    @property
    def work_sessions(self) -> WorkSessionRepository: ...

    @property
    def project_policies(self) -> ProjectPolicyRepository: ...

    @property
    def oauth(self) -> OAuthRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False) -> UnitOfWork:
        """A unit of work. `autocommit=True` is for work made only of statements that are
        atomic on their own (an `INSERT … ON CONFLICT` claim, a compare-and-swap): a
        database may then commit each at once and skip BEGIN/COMMIT, so whatever ran is
        kept even without `commit()`; an adapter may also ignore it."""
        ...
