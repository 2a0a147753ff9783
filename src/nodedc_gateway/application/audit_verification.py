"""Recomputing the audit hash chains from storage (`nodedc-gateway audit verify`).

Chains can be long, so each is read in batches, each batch in a short transaction of its
own: the verification never holds a long transaction (nor, on SQLite, the write lock)
against a serving gateway. The chain's stored head is read first and the events are
checked up to it, so events appended while the verification runs cannot look like a
break.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from nodedc_gateway.domain.audit import ChainCheck, ChainVerifier
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

DEFAULT_BATCH_SIZE = 1_000


async def verify_audit_chains(
    uow_factory: UnitOfWorkFactory, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> AsyncIterator[ChainCheck]:
    """The verdict on every chain in storage, one chain at a time."""
    async with uow_factory() as uow:
        chain_ids = list(await uow.audit.chain_ids())
    for chain_id in chain_ids:
        yield await verify_audit_chain(uow_factory, chain_id, batch_size=batch_size)


async def verify_audit_chain(
    uow_factory: UnitOfWorkFactory, chain_id: str, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> ChainCheck:
    """One chain recomputed from its first event against its stored head."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    async with uow_factory() as uow:
        head = await uow.audit.head(chain_id)
    verifier = ChainVerifier(chain_id)
    after_seq = 0
    while head is None or after_seq < head.seq:
        async with uow_factory() as uow:
            batch = list(await uow.audit.chain(chain_id, after_seq=after_seq, limit=batch_size))
        if head is not None:
            batch = [event for event in batch if event.seq <= head.seq]
        if not batch or not verifier.feed(batch):
            break
        after_seq = batch[-1].seq
    verdict = verifier.finish(head)
    if head is None and verdict.ok and verdict.events:
        # Events whose head row is gone: nothing anchors the end of the chain any more.
        return ChainCheck(chain_id, False, verdict.events, "chain head missing", None)
    return verdict
