"""The URLs OAuth metadata names, all derived from `PUBLIC_URL`."""

from __future__ import annotations

from urllib.parse import urlsplit

from nodedc_gateway.entrypoints.settings import Settings

PRM_ROOT_PATH = "/.well-known/oauth-protected-resource"
PRM_MCP_PATH = PRM_ROOT_PATH + "/mcp"
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"
CONSENT_PATH = "/oauth/consent"


def issuer(settings: Settings) -> str:
    """The authorization server's issuer: the gateway's origin, no path (RFC 8414 §2)."""
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}"


def resource(settings: Settings) -> str:
    """The one audience tokens are issued for (RFC 8707): this gateway's `/mcp`."""
    return settings.mcp_url


def resource_metadata_url(settings: Settings) -> str:
    """Where `/mcp`'s Protected Resource Metadata lives (RFC 9728 §3.1: path-inserted)."""
    return issuer(settings) + PRM_MCP_PATH


def challenge(settings: Settings) -> str:
    """The `WWW-Authenticate` value every 401 from `/mcp` carries (RFC 9728 §5.1)."""
    return (
        f'Bearer realm="nodedc-agent-gateway", '
        f'resource_metadata="{resource_metadata_url(settings)}"'
    )
