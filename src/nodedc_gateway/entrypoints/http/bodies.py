"""Request bodies of the internal and public routes: strict (unknown fields refused) and
bounded. Scopes are plain strings on purpose: an unknown scope is the domain's
`validation_failed` naming it, a human-only one its `human_only_operation`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType


class Body(Struct, kw_only=True, forbid_unknown_fields=True):
    def arguments(self) -> dict[str, Any]:
        """The fields the caller sent (unset ones left out), for the use case."""
        value = msgspec.to_builtins(self)
        assert isinstance(value, dict)
        return value


Name = Annotated[str, Meta(min_length=1, max_length=100)]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
Slug = Annotated[str, Meta(min_length=1, max_length=48)]
Ref = Annotated[str, Meta(min_length=1, max_length=64)]
Scopes = Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=64)]
Note = Annotated[str, Meta(max_length=2000)]


class CreateAgentBody(Body):
    display_name: Name
    owner_email: Email
    avatar_url: Url | UnsetType | None = UNSET


class UpdateAgentBody(Body):
    display_name: Name | UnsetType = UNSET
    status: Literal["active", "disabled"] | UnsetType = UNSET


class IssueTokenBody(Body):
    name: Name
    expires_in_days: Annotated[int, Meta(ge=1, le=366)] | UnsetType = UNSET


class CreateGrantBody(Body):
    workspace_slug: Slug
    scopes: Scopes
    project_id: Ref | UnsetType | None = UNSET
    mode: Literal["voluntary", "reporting"] | UnsetType = UNSET


class UpdateGrantBody(Body):
    scopes: Scopes | UnsetType = UNSET
    mode: Literal["voluntary", "reporting"] | UnsetType = UNSET


class LifecycleBody(Body):
    status: Literal["active", "suspended", "deleted"]


class RedeemBody(Body):
    code: Annotated[str, Meta(min_length=1, max_length=64)]
    token_name: Name | UnsetType = UNSET


class DecisionBody(Body):
    decision: Literal["approve", "deny", "suggest"]
    scopes: Scopes | UnsetType = UNSET
    note: Note | UnsetType = UNSET


class CardRulesBody(Body):
    required_blocks: (
        Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=7)] | UnsetType
    ) = UNSET
    max_block_chars: Annotated[int, Meta(ge=1)] | UnsetType = UNSET
    max_checkers: Annotated[int, Meta(ge=1)] | UnsetType = UNSET
    max_checker_chars: Annotated[int, Meta(ge=1)] | UnsetType = UNSET
    max_description_chars: Annotated[int, Meta(ge=1)] | UnsetType = UNSET


class ProjectPolicyBody(Body):
    card_rules: CardRulesBody | UnsetType = UNSET
    stale_after_minutes: Annotated[int, Meta(ge=1, le=43_200)] | UnsetType = UNSET
