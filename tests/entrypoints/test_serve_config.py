"""How `serve` runs the app under uvicorn: the options the CLI hands it, as uvicorn
resolves them (not timed; what the parser is worth is measured by `make bench`)."""

from __future__ import annotations

from nodedc_gateway.entrypoints import cli
from tests.support.served import gateway_settings


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not served")


def test_serve_parses_http_with_httptools_and_keeps_its_proxy_and_keep_alive_settings() -> None:
    settings = gateway_settings(trusted_proxies=("10.0.0.7",))
    config = cli.uvicorn_config(_app, settings)
    config.load()
    # The C parser: with h11, uvicorn's fallback, a governed call costs a tenth more CPU.
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"
    assert config.proxy_headers
    assert config.forwarded_allow_ips == ["10.0.0.7"]
    assert config.timeout_keep_alive == cli.KEEP_ALIVE_S
    assert config.server_header is False
    assert config.log_config is None
