"""The OpenAPI document at `/schema/openapi.json`, made to say what the API really does.

Litestar derives the document from the handlers, but some of it is ours to state:

- a controller's `responses` (the problem responses of every internal route) are not a
  Litestar controller option, so `apply_controller_responses` hands them to each of the
  controller's handlers before the app is built;
- Litestar documents a `400` with its own error body on every route that takes input,
  while `problems.py` answers every decoding error as a `422` problem: the `400`s go;
- every `/internal/v1` operation requires the internal token (`security`);
- an operation of the JSON API that takes a body answers a body of another media type
  with a `415` problem (`decoding.JsonRequest`): documented there;
- request bodies refuse unknown fields (`forbid_unknown_fields`), which msgspec does
  not put in the schema: they get `additionalProperties: false`, and whatever else a
  body declares in its `schema_extra` (an update needs something to change).

The finishing runs once, when the document is first served, not at app creation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from litestar import Controller, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from nodedc_gateway import __version__
from nodedc_gateway.entrypoints.http.bodies import schema_extras
from nodedc_gateway.entrypoints.http.problems import PROBLEM_JSON
from nodedc_gateway.entrypoints.schemas import ProblemOut

SECURITY_SCHEME = "internalToken"
INTERNAL_PREFIX = "/internal/"
JSON_API_PREFIXES = (INTERNAL_PREFIX, "/v1/")
NOT_JSON_RESPONSE = {
    "description": "The body is not JSON (`Content-Type: application/json` or a `+json` type)",
    "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{ProblemOut.__name__}"}}},
}
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def apply_controller_responses(routes: Iterable[ControllerRouterHandler]) -> None:
    """Merge each controller's `responses` into its handlers' (a handler's own win)."""
    for route in routes:
        if not (isinstance(route, type) and issubclass(route, Controller)):
            continue
        shared = getattr(route, "responses", None)
        if not shared:
            continue
        for handler in vars(route).values():
            if isinstance(handler, HTTPRouteHandler):
                handler.responses = {**shared, **(handler.responses or {})}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """The served document: `document` (Litestar's) with the corrections above."""
    finished = copy.deepcopy(document)
    schemas: dict[str, Any] = finished.get("components", {}).get("schemas", {})
    for path, item in finished.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            operation.get("responses", {}).pop("400", None)
            if path.startswith(INTERNAL_PREFIX):
                operation["security"] = [{SECURITY_SCHEME: []}]
            request_body = operation.get("requestBody", {})
            if request_body and path.startswith(JSON_API_PREFIXES):
                operation.setdefault("responses", {}).setdefault(
                    "415", copy.deepcopy(NOT_JSON_RESPONSE)
                )
            for media in request_body.get("content", {}).values():
                if _leave_out_null(media):
                    # A body typed `X | None` may be left out: say so, rather than
                    # "required, and may be the JSON null".
                    request_body["required"] = False
                body = _component(schemas, media.get("schema", {}))
                if body is not None:
                    body["additionalProperties"] = False
    for name, extra in schema_extras().items():
        if name in schemas:
            schemas[name].update(extra)
    return finished


def _leave_out_null(media: dict[str, Any]) -> bool:
    """Turn a `oneOf [schema, null]` body into `schema`; whether it was one."""
    alternatives = media.get("schema", {}).get("oneOf", [])
    others = [a for a in alternatives if a != {"type": "null"}]
    if len(alternatives) != 2 or len(others) != 1:
        return False
    media["schema"] = others[0]
    return True


def _component(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    reference = schema.get("$ref", "")
    if not reference.startswith("#/components/schemas/"):
        return None
    found: dict[str, Any] | None = schemas.get(reference.rsplit("/", 1)[1])
    return found


class _Finished:
    """Caches the finished document per Litestar document (which Litestar caches)."""

    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._finished: dict[str, Any] = {}

    def __call__(self, document: dict[str, Any]) -> dict[str, Any]:
        if self._source is not document:
            self._source, self._finished = document, finish(document)
        return self._finished


class FinishedJson(JsonRenderPlugin):
    def __init__(self) -> None:
        super().__init__()
        self._finished = _Finished()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self._finished(openapi_schema))


class FinishedYaml(YamlRenderPlugin):
    def __init__(self) -> None:
        super().__init__()
        self._finished = _Finished()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self._finished(openapi_schema))


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="NODE.DC Agent Gateway",
        version=__version__,
        description="Internal API for Tasker and Launcher, and the public pairing route.",
        path="/schema",
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN",
                )
            }
        ),
        render_plugins=[FinishedJson(), FinishedYaml()],
    )
