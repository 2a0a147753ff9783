"""Small input checks shared by the domain's constructors: lengths, emails, URLs, ids."""

from __future__ import annotations

import re

from nodedc_gateway.domain.errors import ValidationFailed

# Character classes (the inside of `[...]`), spelled out: `\s` means other things to other
# regex engines (JavaScript's, or the one that generates test data from a pattern).
#: Whitespace exactly as str.strip() and str.isspace() know it.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: The control characters text may not hold (tab and line breaks are allowed).
CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"

MAX_EMAIL = 254
MAX_URL = 2048
MAX_SLUG = 48
MAX_UUID = 36
#: An id or short reference as a caller may type it (a UUID is 36; room for spaces around it).
MAX_ID_INPUT = 64

# Syntaxes (unanchored regexes) of trimmed values; `trimmed_pattern` projects them onto
# the untrimmed input schemas see.
#: Text: at least one character, no control character, no surrounding whitespace.
TEXT_SYNTAX = rf"[^{WHITESPACE}{CONTROL}](?:[^{CONTROL}]*[^{WHITESPACE}{CONTROL}])?"
_NOT_IN_ADDRESS = rf"{WHITESPACE}{CONTROL}"
EMAIL_SYNTAX = (
    rf"[^@{_NOT_IN_ADDRESS}]{{1,64}}@[^@{_NOT_IN_ADDRESS}]{{1,189}}\.[^@.{_NOT_IN_ADDRESS}]{{1,63}}"
)
#: An http(s) URL: something after the scheme, no whitespace and no control character.
URL_SYNTAX = rf"https?://[^{_NOT_IN_ADDRESS}]+"
SLUG_SYNTAX = rf"[a-z0-9][a-z0-9_-]{{0,{MAX_SLUG - 1}}}"
#: A UUID in its canonical 8-4-4-4-12 spelling, either case.
UUID_SYNTAX = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

_CONTROL = re.compile(f"[{CONTROL}]")
_EMAIL = re.compile(f"^{EMAIL_SYNTAX}$")
_URL = re.compile(f"^{URL_SYNTAX}$")
_SLUG = re.compile(f"^{SLUG_SYNTAX}$")
_UUID = re.compile(UUID_SYNTAX)


def trimmed_pattern(syntax: str) -> str:
    """The anchored pattern of input that matches `syntax` (one term: group alternatives)
    once trimmed, as the checks below trim it: what an input schema states for the rule."""
    return rf"^[{WHITESPACE}]*{syntax}[{WHITESPACE}]*$"


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
    checked = text(value, field, max_length=MAX_EMAIL)
    if not _EMAIL.match(checked):
        raise ValidationFailed.field(field, "must be an email address like name@example.com")
    return checked.lower()


def http_url(value: object, field: str, *, max_length: int = MAX_URL) -> str:
    """An http(s) URL: trimmed, something after the scheme, and no whitespace inside (a tab
    or a line break in a URL is a paste gone wrong, or an attempt to split a header)."""
    checked = text(value, field, max_length=max_length)
    if not _URL.match(checked):
        raise ValidationFailed.field(field, "must be an http(s) URL")
    return checked


def workspace_slug(value: object, field: str = "workspace_slug") -> str:
    checked = text(value, field, max_length=MAX_SLUG)
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
    checked = text(value, field, max_length=MAX_UUID)
    if not is_uuid(checked):
        raise ValidationFailed.field(field, "must be a UUID")
    return checked.lower()
