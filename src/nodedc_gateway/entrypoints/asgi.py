"""The whole gateway as one ASGI app: the internal API, the public routes and MCP."""

from __future__ import annotations

from litestar import Litestar

from nodedc_gateway.entrypoints.bootstrap import Gateway
from nodedc_gateway.entrypoints.http import create_app


def create_gateway_app(container: Gateway) -> Litestar:
    return create_app(container)
