"""Reading a tool's or route's JSON arguments: every field checked, unknown ones refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.idempotency import idempotency_key


class Arguments:
    """A view of a JSON object that knows which names it accepts."""

    def __init__(self, raw: Mapping[str, Any] | None, accepted: Iterable[str]) -> None:
        self.raw: dict[str, Any] = dict(raw or {})
        accepted_set = frozenset(accepted)
        unknown = sorted(set(self.raw) - accepted_set)
        if unknown:
            raise ValidationFailed.field(
                unknown[0],
                f"unknown argument; accepted: {', '.join(sorted(accepted_set)) or '(none)'}",
            )

    def given(self, name: str) -> bool:
        """Present and not null."""
        return self.raw.get(name) is not None

    def get(self, name: str) -> Any:
        return self.raw.get(name)

    def text(self, name: str, *, max_length: int, required: bool = True) -> str | None:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise ValidationFailed.field(name, "is required")
            return None
        return validation.text(value, name, max_length=max_length)

    def required_text(self, name: str, *, max_length: int) -> str:
        value = self.text(name, max_length=max_length)
        assert value is not None
        return value

    def body(self, name: str, *, max_length: int, required: bool = True) -> str | None:
        """Free text (Markdown): may span lines; only its length is bounded."""
        value = self.raw.get(name)
        if value is None:
            if required:
                raise ValidationFailed.field(name, "is required")
            return None
        if not isinstance(value, str):
            raise ValidationFailed.field(name, "must be a string")
        if len(value) > max_length:
            raise ValidationFailed.field(name, f"must have at most {max_length} characters")
        if required and not value.strip():
            raise ValidationFailed.field(name, "must not be empty")
        return value

    def list(self, name: str, *, max_items: int) -> list[Any]:
        value = self.raw.get(name)
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise ValidationFailed.field(name, "must be a list")
        if len(value) > max_items:
            raise ValidationFailed.field(name, f"at most {max_items} items")
        return list(value)

    def without(self, *names: str) -> dict[str, Any]:
        """The arguments minus some (the idempotency key is not part of a fingerprint)."""
        return {k: v for k, v in self.raw.items() if k not in names}

    def idempotency_key(self, name: str = "idempotency_key") -> str | None:
        value = self.raw.get(name)
        return None if value is None else idempotency_key(value, name)
