"""How a JSON route reads its body, before any decoder sees it: only a JSON media type
(else 415), nested no deeper than `MAX_JSON_DEPTH` (a deep body makes a recursive
decoder fail with a `RecursionError`), and no key twice in one object (a decoder keeps
one of them silently). Each refusal is a problem naming what to fix; the decoding itself
stays Litestar's (msgspec)."""

from __future__ import annotations

import re
from typing import Any

import attrs
import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException

#: The deepest a JSON body may nest; the deepest legitimate body (a project policy's
#: `{"card_rules": {"required_blocks": [...]}}`) nests 3 levels.
MAX_JSON_DEPTH = 32
#: The largest body a JSON route reads (413 beyond; the app's limit, 1 MiB, is for `/mcp`).
#: The largest legitimate one, a project policy, is well under 1 KiB; the shape check is a
#: scan in Python, so a small cap also keeps any body's check to about a millisecond.
MAX_JSON_BODY = 64 * 1024
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
TWICE = "this key is in the object twice; send it once"
NOT_JSON = "This route takes a JSON body: send it with `Content-Type: application/json`."
NOT_OBJECT = "the body must be a JSON object; to send nothing, send no body"

# A string (to its closing quote, or to the end of a body that never closes it: one
# linear pass whatever the input), with the colon that makes it a key; or a bracket or
# comma. Everything else (numbers, literals, whitespace) is skipped.
_TOKENS = re.compile(
    rb'(?P<string>"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z))(?P<key>[ \t\r\n]*:)?|[\[\]{},]',
    re.DOTALL,
)


@attrs.define
class _Level:
    """An open object (its keys so far, the last one) or array (the element's index)."""

    is_object: bool
    keys: set[str] = attrs.field(factory=set)
    key: str = ""
    index: int = 0

    def step(self) -> str:
        return f".{self.key}" if self.is_object else f"[{self.index}]"


class BodyRefused(Exception):
    """Why a body is refused before decoding, and where (`body` or a field path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_json_shape(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a body nested deeper than `max_depth`, or with a key twice in an object.

    A scan over the bytes, not a parse: malformed JSON is left for the decoder to name."""
    levels: list[_Level] = []
    for token in _TOKENS.finditer(body):
        first = body[token.start()]
        if first in b"[{":
            if len(levels) >= max_depth:
                raise BodyRefused("body", TOO_DEEP)
            levels.append(_Level(is_object=first == ord("{")))
        elif first in b"]}":
            if levels:
                levels.pop()
        elif first == ord(","):
            if levels and not levels[-1].is_object:
                levels[-1].index += 1
        elif token["key"] is not None and levels and levels[-1].is_object:
            _add_key(levels, _text(token["string"]))


def _add_key(levels: list[_Level], key: str) -> None:
    level = levels[-1]
    level.key = key
    if key in level.keys:
        path = "".join(outer.step() for outer in levels)
        raise BodyRefused(path.removeprefix("."), TWICE)
    level.keys.add(key)


def _text(string: bytes) -> str:
    """A key as the decoder will see it (`"a"` and `"\\u0061"` are the same key)."""
    if b"\\" not in string:
        return string[1:-1].decode("utf-8", "surrogateescape")
    try:
        return str(msgspec.json.decode(string))
    except msgspec.DecodeError:  # malformed: the decoder will say so
        return string.decode("utf-8", "surrogateescape")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a `+json` type (RFC 6839), parameters already stripped."""
    kind, _, subtype = content_type.strip().lower().partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonRequest(Request[Any, Any, Any]):
    """The request of the JSON API routes: `json()` checks the media type and the shape
    of the body before Litestar decodes it. (Litestar calls `json()` only for a body
    that is not empty: a route whose body is optional still takes none.)"""

    async def json(self) -> Any:
        content_type, _ = self.content_type
        if not is_json_media_type(content_type):
            raise ClientException(status_code=415, detail=NOT_JSON)
        try:
            check_json_shape(await self.body())
        except BodyRefused as refused:
            raise ValidationException(
                detail=refused.message, extra=[{"key": refused.field, "message": refused.message}]
            ) from None
        value = await super().json()
        if not isinstance(value, dict):  # every body is an object; `null` is not "no body"
            raise ValidationException(
                detail=NOT_OBJECT, extra=[{"key": "body", "message": NOT_OBJECT}]
            )
        return value
