"""The gateway's error hierarchy: one class per code of CONTRACT §6.

Entrypoints map these to HTTP problems and MCP tool errors, each in one place. Messages
are written for the agent or human who has to fix the call, and never carry a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar

import attrs


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "unauthenticated"
    AGENT_INACTIVE = "agent_inactive"
    OWNER_NOT_ENTITLED = "owner_not_entitled"
    HUMAN_ONLY_OPERATION = "human_only_operation"
    NOT_GRANTED = "not_granted"
    SCOPE_MISSING = "scope_missing"
    NOT_FOUND = "not_found"
    VALIDATION_FAILED = "validation_failed"
    CARD_RULE_VIOLATION = "card_rule_violation"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight"
    RATE_LIMITED = "rate_limited"
    TASKER_UNAVAILABLE = "tasker_unavailable"
    LAUNCHER_UNAVAILABLE = "launcher_unavailable"


class GatewayError(Exception):
    """Base of every refusal the gateway reports to a caller.

    `details` holds extra, JSON-safe fields of the structured error (missing scopes,
    field errors, valid choices, retry delay).
    """

    code: ClassVar[ErrorCode]
    #: Whether an idempotent request that ended in this error stores it for replay
    #: (CONTRACT §7: validation, auth, 429 and upstream outages are not stored).
    replayable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def as_payload(self) -> dict[str, Any]:
        """The `{"code", "message", ...}` body both transports show."""
        return {"code": str(self.code), "message": self.message, **self.details}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class Unauthenticated(GatewayError):
    code = ErrorCode.UNAUTHENTICATED

    def __init__(
        self, message: str = "The credential is missing, unknown, revoked or expired."
    ) -> None:
        super().__init__(message)


class AgentInactive(GatewayError):
    code = ErrorCode.AGENT_INACTIVE


class OwnerNotEntitled(GatewayError):
    code = ErrorCode.OWNER_NOT_ENTITLED


class HumanOnlyOperation(GatewayError):
    code = ErrorCode.HUMAN_ONLY_OPERATION

    @classmethod
    def for_scopes(cls, scopes: Iterable[str]) -> HumanOnlyOperation:
        denied = sorted(set(scopes))
        return cls(
            f"{', '.join(denied)} {'is' if len(denied) == 1 else 'are'} human-only: an agent can "
            "never hold or use it. Ask a person to do this in Tasker.",
            denied_scopes=denied,
        )


class NotGranted(GatewayError):
    code = ErrorCode.NOT_GRANTED


class ScopeMissing(GatewayError):
    code = ErrorCode.SCOPE_MISSING

    def __init__(self, missing_scopes: Sequence[str], message: str | None = None) -> None:
        missing = sorted(set(missing_scopes))
        super().__init__(
            message
            or (
                f"This needs the scope{'s' if len(missing) > 1 else ''} {', '.join(missing)}, "
                "which no grant of this agent gives here. Ask for it with the request_access "
                "tool (scopes + justification) and retry once a human approves."
            ),
            missing_scopes=missing,
            request_access_tool="request_access",
        )
        self.missing_scopes = tuple(missing)


class NotFound(GatewayError):
    code = ErrorCode.NOT_FOUND
    replayable = True


@attrs.frozen
class FieldError:
    """One invalid input: the JSON path of the field and what is wrong with it."""

    field: str
    message: str


class ValidationFailed(GatewayError):
    code = ErrorCode.VALIDATION_FAILED

    def __init__(self, errors: Sequence[FieldError], **details: Any) -> None:
        self.errors = tuple(errors)
        summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors) or "invalid input"
        super().__init__(
            f"Invalid input. {summary}",
            errors=[{"field": e.field, "message": e.message} for e in self.errors],
            **details,
        )

    @classmethod
    def field(cls, field: str, message: str, **details: Any) -> ValidationFailed:
        return cls([FieldError(field, message)], **details)

    @classmethod
    def choice(cls, field: str, given: str, kind: str, valid: Iterable[str]) -> ValidationFailed:
        """An unknown or ambiguous reference, listing what the caller may use instead."""
        choices = sorted(set(valid))
        shown = ", ".join(choices[:50]) + (" …" if len(choices) > 50 else "")
        return cls.field(
            field,
            f"no single {kind} matches {given!r}; valid {kind}s: {shown or '(none)'}",
            valid_choices=choices[:50],
        )


class CardRuleViolation(GatewayError):
    code = ErrorCode.CARD_RULE_VIOLATION

    def __init__(self, violations: Sequence[str]) -> None:
        self.violations = tuple(violations)
        super().__init__(
            "The card breaks this project's card rules: " + "; ".join(self.violations),
            violations=list(self.violations),
        )


class IdempotencyKeyReused(GatewayError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED

    def __init__(self) -> None:
        super().__init__(
            "This idempotency key was already used with different arguments. Use a new key "
            "for a new request, or resend the original arguments to get the original result."
        )


class IdempotencyInFlight(GatewayError):
    code = ErrorCode.IDEMPOTENCY_IN_FLIGHT

    def __init__(self) -> None:
        super().__init__(
            "A request with this idempotency key is still running. Retry shortly with the "
            "same key to receive its result."
        )


class RateLimited(GatewayError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after_s: float, policy: str, limit: int, window_s: int) -> None:
        self.retry_after_s = max(1, int(-(-retry_after_s // 1)))
        self.policy = policy
        self.limit = limit
        self.window_s = window_s
        super().__init__(
            f"Rate limit {policy!r} exceeded; retry in {self.retry_after_s} s.",
            retry_after_s=self.retry_after_s,
        )


class TaskerUnavailable(GatewayError):
    code = ErrorCode.TASKER_UNAVAILABLE

    def __init__(self, message: str = "Tasker is not answering; retry later.") -> None:
        super().__init__(message)


class LauncherUnavailable(GatewayError):
    code = ErrorCode.LAUNCHER_UNAVAILABLE

    def __init__(
        self, message: str = "Launcher cannot confirm the owner's entitlement; retry later."
    ) -> None:
        super().__init__(message)


ERROR_TYPES: Mapping[ErrorCode, type[GatewayError]] = {
    cls.code: cls
    for cls in (
        Unauthenticated,
        AgentInactive,
        OwnerNotEntitled,
        HumanOnlyOperation,
        NotGranted,
        ScopeMissing,
        NotFound,
        ValidationFailed,
        CardRuleViolation,
        IdempotencyKeyReused,
        IdempotencyInFlight,
        RateLimited,
        TaskerUnavailable,
        LauncherUnavailable,
    )
}


def restore_error(payload: Mapping[str, Any]) -> GatewayError:
    """Rebuild an error from its `as_payload()` form (an idempotent replay of a refusal)."""
    details = dict(payload)
    code = ErrorCode(details.pop("code"))
    message = str(details.pop("message"))
    error_type = ERROR_TYPES[code]
    error = error_type.__new__(error_type)
    GatewayError.__init__(error, message, **details)
    return error
