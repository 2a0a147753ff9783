"""The consent page at `/oauth/consent`: plain HTML forms, no script, a strict CSP.

`/authorize` (the SDK's handler) validates the client's request and sends the browser here
with the request sealed. The person enters the agent's pairing code (step `identify`), sees
the client, where it will return, the agent and its grants in plain words, and allows or
denies. Allowing uses up the code and mints the authorization code, then redirects to the
client. CSRF: a random value in a SameSite=Strict cookie must come back in the form, and a
cross-origin `Origin` is refused. Pairing-code attempts share the redeem rate limit.

The second way to consent (an owner signed into the console, issue 16) plugs in as another
`application.oauth_consent.Consenter`: see `docs/oauth.md`.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response
from mcp.server.auth.provider import construct_redirect_uri

from nodedc_gateway.application.oauth import OAuthRefused, Pending
from nodedc_gateway.application.oauth_consent import PairingCodeConsenter
from nodedc_gateway.domain.errors import GatewayError, RateLimited
from nodedc_gateway.entrypoints.http.security import client_address
from nodedc_gateway.entrypoints.oauth import page, urls
from nodedc_gateway.entrypoints.oauth.runtime import OAuthRuntime
from nodedc_gateway.entrypoints.oauth.sealing import SealBroken

AnyRequest = Request[Any, Any, Any]
MAX_FIELD = 8192


def _cookie_name(secure: bool) -> str:
    return "__Host-nodedc_consent" if secure else "nodedc_consent"


def _html(
    body: str, status: int, redirect_uri: str | None, csrf: str | None, secure: bool
) -> Response[str]:
    cookies = []
    if csrf is not None:
        cookies.append(
            Cookie(
                key=_cookie_name(secure),
                value=csrf,
                path="/",
                httponly=True,
                secure=secure,
                samesite="strict",
                max_age=1800,
            )
        )
    return Response(
        content=body,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": page.content_security_policy(redirect_uri),
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            # same-origin, not no-referrer: a form POST then carries the real Origin (with
            # no-referrer browsers send `Origin: null`), and nothing leaks cross-origin.
            "Referrer-Policy": "same-origin",
        },
        cookies=cookies,
    )


def _redirect(location: str) -> Response[str]:
    return Response(
        content="",
        status_code=303,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def consent_handlers(runtime: OAuthRuntime) -> list[HTTPRouteHandler]:
    secure = runtime.settings.public_url.startswith("https://")
    issuer = urls.issuer(runtime.settings)

    @get(urls.CONSENT_PATH, include_in_schema=False, name="oauth_consent_page")
    async def consent_page(request: AnyRequest) -> Response[str]:
        sealed = request.query_params.get("request")
        try:
            pending = (await runtime.sealer()).open(sealed)
        except SealBroken:
            msg = "This sign-in link is broken or has expired."
            return _html(page.error_page(msg), 400, None, None, secure)
        service = await runtime.service()
        client = await service.client(pending.client_id)
        if client is None:
            msg = "The client asking for access is unknown."
            return _html(page.error_page(msg), 400, None, None, secure)
        csrf = secrets.token_urlsafe(32)
        body = page.code_page(client, pending, str(sealed), csrf)
        return _html(body, 200, pending.redirect_uri, csrf, secure)

    @post(urls.CONSENT_PATH, include_in_schema=False, name="oauth_consent_decide", status_code=200)
    async def consent_decide(request: AnyRequest) -> Response[str]:
        origin = request.headers.get("origin")
        if origin is not None and origin != issuer:
            msg = "This form was sent from another site."
            return _html(page.error_page(msg), 403, None, None, secure)
        form = await request.form()
        fields = {k: form.get(k) for k in ("request", "csrf", "step", "code")}
        if any(isinstance(v, str) and len(v) > MAX_FIELD for v in fields.values()):
            return _html(page.error_page("The form is too large."), 400, None, None, secure)
        cookie = request.cookies.get(_cookie_name(secure), "")
        csrf = fields["csrf"] if isinstance(fields["csrf"], str) else ""
        if not cookie or not csrf or not hmac.compare_digest(cookie.encode(), csrf.encode()):
            msg = "This form has expired or was not sent from this page; start again."
            return _html(page.error_page(msg), 403, None, None, secure)
        try:
            pending = (await runtime.sealer()).open(fields["request"])
        except SealBroken:
            msg = "This sign-in link is broken or has expired."
            return _html(page.error_page(msg), 400, None, None, secure)
        step = fields["step"]
        if step == "deny":
            return _redirect(_answer(pending, issuer, error="access_denied"))
        if step not in ("identify", "approve"):
            return _html(page.error_page("Unknown step."), 400, None, None, secure)
        return await _decide(
            runtime,
            request,
            pending,
            str(fields["request"]),
            csrf,
            step,
            fields["code"],
            issuer,
            secure,
        )

    return [consent_page, consent_decide]


async def _decide(
    runtime: OAuthRuntime,
    request: AnyRequest,
    pending: Pending,
    sealed: str,
    csrf: str,
    step: str,
    code: object,
    issuer: str,
    secure: bool,
) -> Response[str]:
    service = await runtime.service()
    client = await service.client(pending.client_id)
    if client is None:
        msg = "The client asking for access is unknown."
        return _html(page.error_page(msg), 400, None, None, secure)
    try:
        await service.throttle(client_address(request))
        consenter = PairingCodeConsenter(service.d.hasher, code)
        if step == "identify":
            view = await service.view(pending, consenter)
            body = page.approve_page(view, pending, sealed, csrf, str(code))
            return _html(body, 200, pending.redirect_uri, None, secure)
        authorization_code = await service.approve(pending, consenter)
    except RateLimited:
        msg = "Too many attempts; wait a minute and try again."
        return _html(
            page.code_page(client, pending, sealed, csrf, msg),
            429,
            pending.redirect_uri,
            None,
            secure,
        )
    except OAuthRefused as refused:
        return _redirect(
            _answer(pending, issuer, error=refused.error, description=refused.description)
        )
    except GatewayError as error:
        return _html(
            page.code_page(client, pending, sealed, csrf, str(error)),
            400,
            pending.redirect_uri,
            None,
            secure,
        )
    return _redirect(_answer(pending, issuer, code=authorization_code))


def _answer(
    pending: Pending,
    issuer: str,
    *,
    code: str | None = None,
    error: str | None = None,
    description: str | None = None,
) -> str:
    """The redirect back to the client (RFC 6749 §4.1.2; `iss` per RFC 9207)."""
    return construct_redirect_uri(
        pending.redirect_uri,
        code=code,
        error=error,
        error_description=description,
        state=pending.state,
        iss=issuer,
    )
