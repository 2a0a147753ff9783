"""Small input checks shared by the domain's constructors: lengths, emails, URLs, ids."""

from __future__ import annotations

import re

from nodedc_gateway.domain.errors import ValidationFailed

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
#: A UUID in its canonical 8-4-4-4-12 spelling, either case (a regex, unanchored).
UUID_SYNTAX = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID = re.compile(UUID_SYNTAX)


def text(value: object, field: str, *, max_length: int, min_length: int = 1) -> str:
    """A string without control characters, trimmed, within the given length."""
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be a string")
    value = value.strip()
    if len(value) < min_length:
        raise ValidationFailed.field(field, f"must have at least {min_length} character(s)")
    if len(value) > max_length:
        raise ValidationFailed.field(field, f"must have at most {max_length} characters")
    if _CONTROL.search(value):
        raise ValidationFailed.field(field, "must not contain control characters")
    return value


def email(value: object, field: str) -> str:
    checked = text(value, field, max_length=254)
    if not _EMAIL.match(checked):
        raise ValidationFailed.field(field, "must be an email address like name@example.com")
    return checked.lower()


def http_url(value: object, field: str, *, max_length: int = 2048) -> str:
    """An http(s) URL: trimmed, something after the scheme, and no whitespace inside (a tab
    or a line break in a URL is a paste gone wrong, or an attempt to split a header)."""
    checked = text(value, field, max_length=max_length)
    scheme, separator, rest = checked.partition("://")
    if (
        scheme not in ("http", "https")
        or not separator
        or not rest
        or any(c.isspace() for c in rest)
    ):
        raise ValidationFailed.field(field, "must be an http(s) URL")
    return checked


def workspace_slug(value: object, field: str = "workspace_slug") -> str:
    checked = text(value, field, max_length=48)
    if not _SLUG.match(checked):
        raise ValidationFailed.field(
            field, "must be a workspace slug: lowercase letters, digits, '-' or '_'"
        )
    return checked


def is_uuid(value: str) -> bool:
    """The canonical 8-4-4-4-12 spelling, in either case (`uuid.UUID` would also take
    hyphens anywhere, braces and `urn:uuid:`, spellings no stored id is compared with)."""
    return _UUID.fullmatch(value) is not None


def uuid_text(value: object, field: str) -> str:
    checked = text(value, field, max_length=36)
    if not is_uuid(checked):
        raise ValidationFailed.field(field, "must be a UUID")
    return checked.lower()
