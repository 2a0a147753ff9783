"""The gateway's rules, pure: no I/O, no frameworks, no clock or randomness of its own.

Other services import this package to evaluate grants and apply the same policies
(see docs/embedding.md).

Importing the package loads none of its modules: each name is imported from its module when
first asked for (PEP 562), so a process that needs one rule (the stdio connector needs
`SecretStr`) does not pay for all of them before it can answer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodedc_gateway.domain.agents import Agent, AgentStatus, owned_by
    from nodedc_gateway.domain.audit import (
        AuditDecision,
        AuditDraft,
        AuditEvent,
        ChainCheck,
        ChainHead,
        link,
        verify_chain,
    )
    from nodedc_gateway.domain.cards import (
        DEFAULT_CARD_RULES,
        Block,
        BlockName,
        Card,
        CardRule,
        CardRules,
        CardViolation,
        Checker,
        new_card,
        parse_block_name,
        parse_card,
    )
    from nodedc_gateway.domain.entitlement import (
        Entitlement,
        EntitlementObservation,
        entitlement_from,
        needs_refresh,
    )
    from nodedc_gateway.domain.errors import ErrorCode, FieldError, GatewayError
    from nodedc_gateway.domain.evaluation import (
        Coverage,
        Decision,
        GrantIndex,
        covering_grants,
        evaluate_grants,
    )
    from nodedc_gateway.domain.grants import (
        WORKSPACE_LEVEL,
        Grant,
        GrantChange,
        GrantMode,
        GrantRef,
        GrantStatus,
        GrantVersion,
        Target,
    )
    from nodedc_gateway.domain.idempotency import (
        IdempotencyRecord,
        StoredResponse,
        Verdict,
        judge,
        request_fingerprint,
    )
    from nodedc_gateway.domain.operations import CATALOGUE, Operation, operation, tools_usable_with
    from nodedc_gateway.domain.pairing import PairingCode, PairingStatus, normalize_pairing_code
    from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy, gcra
    from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope, parse_scopes
    from nodedc_gateway.domain.secret import SecretStr
    from nodedc_gateway.domain.tokens import (
        AgentToken,
        IssuedToken,
        TokenStatus,
        is_well_formed_token,
    )

#: Which module of the package defines each exported name.
_MODULES: dict[str, tuple[str, ...]] = {
    "agents": (
        "Agent",
        "AgentStatus",
        "owned_by",
    ),
    "audit": (
        "AuditDecision",
        "AuditDraft",
        "AuditEvent",
        "ChainCheck",
        "ChainHead",
        "link",
        "verify_chain",
    ),
    "cards": (
        "DEFAULT_CARD_RULES",
        "Block",
        "BlockName",
        "Card",
        "CardRule",
        "CardRules",
        "CardViolation",
        "Checker",
        "new_card",
        "parse_block_name",
        "parse_card",
    ),
    "entitlement": (
        "Entitlement",
        "EntitlementObservation",
        "entitlement_from",
        "needs_refresh",
    ),
    "errors": (
        "ErrorCode",
        "FieldError",
        "GatewayError",
    ),
    "evaluation": (
        "Coverage",
        "Decision",
        "GrantIndex",
        "covering_grants",
        "evaluate_grants",
    ),
    "grants": (
        "WORKSPACE_LEVEL",
        "Grant",
        "GrantChange",
        "GrantMode",
        "GrantRef",
        "GrantStatus",
        "GrantVersion",
        "Target",
    ),
    "idempotency": (
        "IdempotencyRecord",
        "StoredResponse",
        "Verdict",
        "judge",
        "request_fingerprint",
    ),
    "operations": (
        "CATALOGUE",
        "Operation",
        "operation",
        "tools_usable_with",
    ),
    "pairing": (
        "PairingCode",
        "PairingStatus",
        "normalize_pairing_code",
    ),
    "ratelimit": (
        "RateDecision",
        "RatePolicy",
        "gcra",
    ),
    "scopes": (
        "ALLOWED_SCOPES",
        "DENIED_SCOPES",
        "Scope",
        "parse_scopes",
    ),
    "secret": ("SecretStr",),
    "tokens": (
        "AgentToken",
        "IssuedToken",
        "TokenStatus",
        "is_well_formed_token",
    ),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ALLOWED_SCOPES",
    "CATALOGUE",
    "DEFAULT_CARD_RULES",
    "DENIED_SCOPES",
    "WORKSPACE_LEVEL",
    "Agent",
    "AgentStatus",
    "AgentToken",
    "AuditDecision",
    "AuditDraft",
    "AuditEvent",
    "Block",
    "BlockName",
    "Card",
    "CardRule",
    "CardRules",
    "CardViolation",
    "ChainCheck",
    "ChainHead",
    "Checker",
    "Coverage",
    "Decision",
    "Entitlement",
    "EntitlementObservation",
    "ErrorCode",
    "FieldError",
    "GatewayError",
    "Grant",
    "GrantChange",
    "GrantIndex",
    "GrantMode",
    "GrantRef",
    "GrantStatus",
    "GrantVersion",
    "IdempotencyRecord",
    "IssuedToken",
    "Operation",
    "PairingCode",
    "PairingStatus",
    "RateDecision",
    "RatePolicy",
    "Scope",
    "SecretStr",
    "StoredResponse",
    "Target",
    "TokenStatus",
    "Verdict",
    "covering_grants",
    "entitlement_from",
    "evaluate_grants",
    "gcra",
    "is_well_formed_token",
    "judge",
    "link",
    "needs_refresh",
    "new_card",
    "normalize_pairing_code",
    "operation",
    "owned_by",
    "parse_block_name",
    "parse_card",
    "parse_scopes",
    "request_fingerprint",
    "tools_usable_with",
    "verify_chain",
]
