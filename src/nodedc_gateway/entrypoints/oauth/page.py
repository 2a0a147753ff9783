"""The consent page's HTML: server-rendered, no script, every value escaped."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape
from urllib.parse import urlsplit

from nodedc_gateway.application.oauth import ConsentView, Pending
from nodedc_gateway.domain.grants import Grant
from nodedc_gateway.domain.oauth import OAuthClient

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "color:#1b1f24}h1{font-size:1.4rem}.who{background:#f3f5f7;border-radius:8px;"
    "padding:.75rem 1rem}.error{color:#a40e26;font-weight:600}ul{padding-left:1.2rem}"
    "input[type=text]{font-size:1.2rem;letter-spacing:.15em;padding:.3rem;width:12rem}"
    "button{font-size:1rem;padding:.4rem 1rem;margin-right:.5rem}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

PLAIN_SCOPES = {
    "workspace:read": "see the workspace",
    "project:read": "read projects",
    "project:member:add_existing": "add existing members to projects",
    "issue:read": "read issues",
    "issue:create": "create issues",
    "issue:update": "edit issues",
    "issue:move": "move issues between states",
    "issue:comment": "comment on issues",
    "issue:label": "label issues",
    "issue:assign": "assign issues",
    "issue:structured_blocks:write": "write task card blocks and checkers",
}


def content_security_policy(redirect_uri: str | None) -> str:
    """Strict: nothing loads, only our own style; forms post here, and the redirect that
    follows a submitted form goes to the client's redirect URI (form-action covers it)."""
    targets = "'self'"
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            targets += f" {parts.scheme}://{parts.netloc}"
        elif parts.scheme:
            targets += f" {parts.scheme}:"
    return (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _grant_line(grant: Grant) -> str:
    where = f"workspace “{grant.workspace_slug}”"
    where += f", project {grant.project_id}" if grant.project_id else " (every project)"
    words = ", ".join(PLAIN_SCOPES.get(str(s), str(s)) for s in sorted(grant.scopes))
    return f"<li>In {escape(where)}: {escape(words)}.</li>"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _client_line(client: OAuthClient, pending: Pending) -> str:
    host = urlsplit(pending.redirect_uri).netloc or urlsplit(pending.redirect_uri).scheme + ":"
    return (
        f'<p class="who"><strong id="client-name">{escape(client.client_name)}</strong> '
        f"wants to work in NODE.DC Tasker as one of your agents. After you decide, "
        f'you go back to <strong id="redirect-host">{escape(host)}</strong>.</p>'
    )


def _hidden(sealed: str, csrf: str) -> str:
    return (
        f'<input type="hidden" name="request" value="{escape(sealed)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    )


def code_page(
    client: OAuthClient, pending: Pending, sealed: str, csrf: str, error: str | None = None
) -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Connect an agent",
        "<h1>Connect an agent</h1>"
        + _client_line(client, pending)
        + problem
        + '<form method="post" action="/oauth/consent">'
        + _hidden(sealed, csrf)
        + '<p><label for="code">The agent’s pairing code (its owner creates one in '
        "Tasker):</label><br>"
        + '<input type="text" id="code" name="code" autocomplete="off" maxlength="20" '
        + 'placeholder="WDJB-MJHT" required></p>'
        + '<button type="submit" name="step" value="identify">Continue</button>'
        + "</form>"
        + '<form method="post" action="/oauth/consent">'
        + _hidden(sealed, csrf)
        + '<button type="submit" name="step" value="deny">Cancel</button></form>',
    )


def approve_page(view: ConsentView, pending: Pending, sealed: str, csrf: str, code: str) -> str:
    agent = view.agent
    grants: Sequence[Grant] = [g for g in view.grants if g.is_active]
    listed = "".join(_grant_line(g) for g in grants) or "<li>Nothing yet: it holds no grants.</li>"
    return _page(
        "Allow access?",
        "<h1>Allow access?</h1>"
        + _client_line(view.client, pending)
        + f'<p>It will act as the agent <strong id="agent-name">{escape(agent.display_name)}'
        + f"</strong> of {escape(agent.owner_email)}, and can do exactly what that agent "
        + "may do:</p>"
        + f'<ul id="grants">{listed}</ul>'
        + "<p>Access lasts until you revoke the agent or its token; the client renews it "
        + "every hour.</p>"
        + '<form method="post" action="/oauth/consent">'
        + _hidden(sealed, csrf)
        + f'<input type="hidden" name="code" value="{escape(code)}">'
        + '<button type="submit" name="step" value="approve">Allow</button>'
        + '<button type="submit" name="step" value="deny">Deny</button></form>',
    )


def error_page(message: str) -> str:
    return _page(
        "Cannot continue",
        f'<h1>Cannot continue</h1><p class="error" role="alert">{escape(message)}</p>'
        "<p>Start again from your MCP client.</p>",
    )
