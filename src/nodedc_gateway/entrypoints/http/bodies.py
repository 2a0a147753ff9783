"""Request bodies of the internal and public routes: strict (unknown fields refused) and
bounded. Scopes are plain strings on purpose: an unknown scope is the domain's
`validation_failed` naming it, a human-only one its `human_only_operation`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType, Schema
from msgspec import UNSET, Meta, Struct, UnsetType

from nodedc_gateway.domain.cards import (
    MAX_CHECKER_TEXT,
    MAX_CHECKERS_PER_CARD,
    BlockName,
)
from nodedc_gateway.domain.html_fragment import MAX_FRAGMENT_CHARS
from nodedc_gateway.domain.pairing import PAIRING_ALPHABET
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES
from nodedc_gateway.domain.validation import UUID_SYNTAX

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
# the checks themselves stay the domain's, with its messages). Text is trimmed first and
# may hold no control character but tab and line breaks (`domain.validation.text`).
_C = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # control characters text may not hold
# Whitespace as str.strip() removes it, spelled out: `\s` means other things to other
# regex engines (JavaScript's, or the one that generates test data from the pattern).
_W = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Text: trimmed, then at least one character and no control character.
TEXT_PATTERN = rf"^[{_W}]*[^{_W}{_C}](?:[^{_C}]*[^{_W}{_C}])?[{_W}]*$"
#: The same in a header, whose value HTTP trims of surrounding whitespace itself.
HEADER_TEXT_PATTERN = rf"^[^{_W}{_C}](?:[^{_C}]*[^{_W}{_C}])?$"
EMAIL_PATTERN = (
    rf"^[{_W}]*[^@{_W}{_C}]{{1,64}}@[^@{_W}{_C}]{{1,189}}\.[^@.{_W}{_C}]{{1,63}}[{_W}]*$"
)
#: An http(s) URL: trimmed, then something after the scheme, with no whitespace and no
#: control character.
URL_PATTERN = rf"^[{_W}]*https?://[^{_W}{_C}]+[{_W}]*$"
SLUG_PATTERN = rf"^[{_W}]*[a-z0-9][a-z0-9_-]{{0,47}}[{_W}]*$"
UUID_PATTERN = f"^{UUID_SYNTAX}$"
PROJECT_PATTERN = rf"^[{_W}]*({UUID_SYNTAX}|[A-Za-z][A-Za-z0-9]{{0,11}})[{_W}]*$"
_CODE_LETTER = f"[{PAIRING_ALPHABET}{PAIRING_ALPHABET.lower()}]"
PAIRING_CODE_PATTERN = rf"^[-\t ]*({_CODE_LETTER}[-\t ]*){{8}}$"


def documented(**schema: Any) -> dict[str, Any]:
    """`extra_json_schema` for a `Meta`: schema keywords added to the OpenAPI document."""
    return {"extra": schema}


Name = Annotated[
    str, Meta(min_length=1, max_length=100, extra_json_schema=documented(pattern=TEXT_PATTERN))
]
Email = Annotated[
    str, Meta(min_length=3, max_length=254, extra_json_schema=documented(pattern=EMAIL_PATTERN))
]
Url = Annotated[
    str, Meta(min_length=1, max_length=2048, extra_json_schema=documented(pattern=URL_PATTERN))
]
Slug = Annotated[
    str, Meta(min_length=1, max_length=48, extra_json_schema=documented(pattern=SLUG_PATTERN))
]
Ref = Annotated[
    str, Meta(min_length=1, max_length=64, extra_json_schema=documented(pattern=PROJECT_PATTERN))
]
# Scopes stay plain strings when decoded, so an unknown one is the domain's
# `validation_failed` listing the allowed scopes and a human-only one its 403.
Scopes = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(
        max_length=64,
        extra_json_schema=documented(
            min_items=1, items=Schema(type=OpenAPIType.STRING, enum=KNOWN_SCOPES)
        ),
    ),
]
Note = Annotated[str, Meta(max_length=2000)]


class CreateAgentBody(Body):
    display_name: Name
    owner_email: Email
    avatar_url: Url | UnsetType | None = UNSET


class UpdateAgentBody(Body):
    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # something to change
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
    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # something to change
    scopes: Scopes | UnsetType = UNSET
    mode: Literal["voluntary", "reporting"] | UnsetType = UNSET


class LifecycleBody(Body):
    status: Literal["active", "suspended", "deleted"]


class RedeemBody(Body):
    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            extra_json_schema=documented(pattern=PAIRING_CODE_PATTERN),
        ),
    ]
    token_name: Name | UnsetType = UNSET


class DecisionBody(Body):
    decision: Literal["approve", "deny", "suggest"]
    scopes: Scopes | UnsetType = UNSET
    note: Note | UnsetType = UNSET


class CardRulesBody(Body):
    # Block names stay plain strings when decoded, so an unknown one is the domain's
    # `validation_failed` listing the blocks.
    required_blocks: (
        Annotated[
            list[Annotated[str, Meta(max_length=64)]],
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
    stale_after_minutes: Annotated[int, Meta(ge=1, le=43_200)] | UnsetType = UNSET


def schema_extras() -> dict[str, dict[str, Any]]:
    """Each body's schema additions, by its schema's name: every body refuses unknown
    fields (nested ones too), plus its own `schema_extra`."""
    return {
        body.__name__: {"additionalProperties": False, **body.schema_extra}
        for body in Body.__subclasses__()
    }
