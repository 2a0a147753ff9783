"""Request bodies of the internal and public routes: strict (unknown fields refused) and
bounded. Scopes are plain strings on purpose: an unknown scope is the domain's
`validation_failed` naming it, a human-only one its `human_only_operation`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType, Schema
from msgspec import UNSET, Meta, Struct, UnsetType

from nodedc_gateway.domain import pairing
from nodedc_gateway.domain.access_requests import MAX_NOTE
from nodedc_gateway.domain.agents import MAX_DISPLAY_NAME
from nodedc_gateway.domain.cards import (
    MAX_CHECKER_TEXT,
    MAX_CHECKERS_PER_CARD,
    BlockName,
)
from nodedc_gateway.domain.html_fragment import MAX_FRAGMENT_CHARS
from nodedc_gateway.domain.project_policy import MAX_STALE_AFTER_MINUTES
from nodedc_gateway.domain.scopes import (
    ALLOWED_SCOPES,
    DENIED_SCOPES,
    MAX_SCOPE_TEXT,
    MAX_SCOPES_PER_REQUEST,
)
from nodedc_gateway.domain.tasker import PROJECT_IDENTIFIER_SYNTAX
from nodedc_gateway.domain.tokens import MAX_EXPIRES_IN_DAYS, MAX_TOKEN_NAME
from nodedc_gateway.domain.validation import (
    EMAIL_SYNTAX,
    MAX_EMAIL,
    MAX_ID_INPUT,
    MAX_SLUG,
    MAX_URL,
    SLUG_SYNTAX,
    TEXT_SYNTAX,
    URL_SYNTAX,
    UUID_SYNTAX,
    trimmed_pattern,
)

KNOWN_SCOPES = sorted(ALLOWED_SCOPES | DENIED_SCOPES)


class Body(Struct, kw_only=True, forbid_unknown_fields=True):
    #: Keywords for this body's schema in the OpenAPI document (`http.openapi.finish`).
    schema_extra: ClassVar[dict[str, Any]] = {}

    def arguments(self) -> dict[str, Any]:
        """The fields the caller sent (unset ones left out), for the use case."""
        value = msgspec.to_builtins(self)
        assert isinstance(value, dict)
        return value


# What the domain checks, stated in the OpenAPI document as patterns (documentation only:
# the checks themselves stay the domain's, with its messages). Every syntax and limit is
# the domain's; here they are only projected onto untrimmed input.
#: Text: trimmed, then at least one character and no control character.
TEXT_PATTERN = trimmed_pattern(TEXT_SYNTAX)
#: The same in a header, whose value HTTP trims of surrounding whitespace itself.
HEADER_TEXT_PATTERN = f"^{TEXT_SYNTAX}$"
EMAIL_PATTERN = trimmed_pattern(EMAIL_SYNTAX)
#: An http(s) URL: trimmed, then something after the scheme, with no whitespace and no
#: control character.
URL_PATTERN = trimmed_pattern(URL_SYNTAX)
SLUG_PATTERN = trimmed_pattern(SLUG_SYNTAX)
UUID_PATTERN = f"^{UUID_SYNTAX}$"
PROJECT_PATTERN = trimmed_pattern(f"({UUID_SYNTAX}|{PROJECT_IDENTIFIER_SYNTAX})")
PAIRING_CODE_PATTERN = pairing.PAIRING_CODE_PATTERN


def documented(**schema: Any) -> dict[str, Any]:
    """`extra_json_schema` for a `Meta`: schema keywords added to the OpenAPI document."""
    return {"extra": schema}


def _text(max_length: int, pattern: str, min_length: int = 1) -> Meta:
    return Meta(
        min_length=min_length, max_length=max_length, extra_json_schema=documented(pattern=pattern)
    )


DisplayName = Annotated[str, _text(MAX_DISPLAY_NAME, TEXT_PATTERN)]
TokenName = Annotated[str, _text(MAX_TOKEN_NAME, TEXT_PATTERN)]
Email = Annotated[str, _text(MAX_EMAIL, EMAIL_PATTERN, min_length=3)]
Url = Annotated[str, _text(MAX_URL, URL_PATTERN)]
Slug = Annotated[str, _text(MAX_SLUG, SLUG_PATTERN)]
Ref = Annotated[str, _text(MAX_ID_INPUT, PROJECT_PATTERN)]
# Scopes stay plain strings when decoded, so an unknown one is the domain's
# `validation_failed` listing the allowed scopes and a human-only one its 403.
Scopes = Annotated[
    list[Annotated[str, Meta(max_length=MAX_SCOPE_TEXT)]],
    Meta(
        max_length=MAX_SCOPES_PER_REQUEST,
        extra_json_schema=documented(
            min_items=1, items=Schema(type=OpenAPIType.STRING, enum=KNOWN_SCOPES)
        ),
    ),
]
Note = Annotated[str, Meta(max_length=MAX_NOTE)]


class CreateAgentBody(Body):
    display_name: DisplayName
    owner_email: Email
    avatar_url: Url | UnsetType | None = UNSET


class UpdateAgentBody(Body):
    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # something to change
    display_name: DisplayName | UnsetType = UNSET
    status: Literal["active", "disabled"] | UnsetType = UNSET


class IssueTokenBody(Body):
    name: TokenName
    expires_in_days: Annotated[int, Meta(ge=1, le=MAX_EXPIRES_IN_DAYS)] | UnsetType = UNSET


class CreateGrantBody(Body):
    workspace_slug: Slug
    scopes: Scopes
    project_id: Ref | UnsetType | None = UNSET
    mode: Literal["voluntary", "reporting"] | UnsetType = UNSET


class UpdateGrantBody(Body):
    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # something to change
    scopes: Scopes | UnsetType = UNSET
    mode: Literal["voluntary", "reporting"] | UnsetType = UNSET


class LifecycleBody(Body):
    status: Literal["active", "suspended", "deleted"]


class RedeemBody(Body):
    code: Annotated[str, _text(pairing.MAX_PAIRING_INPUT, PAIRING_CODE_PATTERN)]
    token_name: TokenName | UnsetType = UNSET


class DecisionBody(Body):
    decision: Literal["approve", "deny", "suggest"]
    scopes: Scopes | UnsetType = UNSET
    note: Note | UnsetType = UNSET


class CardRulesBody(Body):
    # Block names stay plain strings when decoded, so an unknown one is the domain's
    # `validation_failed` listing the blocks.
    required_blocks: (
        Annotated[
            list[Annotated[str, Meta(max_length=MAX_ID_INPUT)]],
            Meta(
                max_length=len(BlockName),
                extra_json_schema=documented(
                    items=Schema(type=OpenAPIType.STRING, enum=[b.value for b in BlockName])
                ),
            ),
        ]
        | UnsetType
    ) = UNSET
    max_block_chars: Annotated[int, Meta(ge=1, le=MAX_FRAGMENT_CHARS)] | UnsetType = UNSET
    max_checkers: Annotated[int, Meta(ge=1, le=MAX_CHECKERS_PER_CARD)] | UnsetType = UNSET
    max_checker_chars: Annotated[int, Meta(ge=1, le=MAX_CHECKER_TEXT)] | UnsetType = UNSET
    max_description_chars: Annotated[int, Meta(ge=1, le=MAX_FRAGMENT_CHARS)] | UnsetType = UNSET


class ProjectPolicyBody(Body):
    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # something to change
    card_rules: CardRulesBody | UnsetType = UNSET
    stale_after_minutes: Annotated[int, Meta(ge=1, le=MAX_STALE_AFTER_MINUTES)] | UnsetType = UNSET


def schema_extras() -> dict[str, dict[str, Any]]:
    """Each body's schema additions, by its schema's name: every body refuses unknown
    fields (nested ones too), plus its own `schema_extra`."""
    return {
        body.__name__: {"additionalProperties": False, **body.schema_extra}
        for body in Body.__subclasses__()
    }
