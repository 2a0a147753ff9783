"""Getting in and out: the internal route Tasker asks for a one-time link, opening the
link (a session cookie, then a redirect so the code leaves the address bar), signing out."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import JSONBody, PathParameter
from litestar.response import Redirect, Response, Template
from msgspec import Meta

from nodedc_gateway.application.console import OpenedSession
from nodedc_gateway.domain.canonical import format_timestamp
from nodedc_gateway.entrypoints.console.web import (
    PREFIX,
    AnyRequest,
    ViewerDep,
    console_url,
    page,
    security_headers,
    see_other,
    session_cookie,
)
from nodedc_gateway.entrypoints.http import bodies
from nodedc_gateway.entrypoints.http.parameters import OwnerId
from nodedc_gateway.entrypoints.http.routes import InternalApi
from nodedc_gateway.entrypoints.http.security import (
    client_address,
    owner_id,
    services_of,
)

UserId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        extra_json_schema=bodies.documented(pattern=bodies.TEXT_PATTERN),
    ),
]


class ConsoleLinkBody(bodies.Body):
    actor_user_id: UserId | msgspec.UnsetType = msgspec.UNSET


class ConsoleLinkOut(msgspec.Struct, kw_only=True):
    url: str
    expires_at: str


class ConsoleLinksController(InternalApi):
    path = "/internal/v1/owners/{owner_user_id:str}/console-links"
    tags = ["console"]

    @post(operation_id="create_console_link", status_code=201)
    async def create_console_link(
        self,
        request: AnyRequest,
        owner_user_id: OwnerId,
        data: JSONBody[ConsoleLinkBody | None] = None,
    ) -> Response[ConsoleLinkOut]:
        """A one-time link into the owner console: single use, valid for 2 minutes;
        `actor_user_id` (default: the owner) is the person who will be at the keyboard."""
        services = services_of(request)
        actor = None if data is None else data.arguments().get("actor_user_id")
        issued = await services.console.issue_link(owner_id(owner_user_id), actor)
        body = ConsoleLinkOut(
            url=console_url(services.settings.public_url, issued.code),
            expires_at=format_timestamp(issued.expires_at),
        )
        return Response(body, status_code=201, headers={"Cache-Control": "no-store"})


@get("/open/{code:str}", name="console-open")
async def open_link(
    request: AnyRequest, code: Annotated[str, PathParameter(max_length=64)]
) -> Redirect:
    services = services_of(request)
    opened: OpenedSession = await services.console.open_link(code, client_address(request))
    redirect = see_other(f"{PREFIX}/agents")
    redirect.set_cookie(session_cookie(services.settings, opened.token))
    redirect.headers.update(security_headers(services.settings))
    return redirect


@get("/", name="console-home")
async def home(viewer: ViewerDep) -> Redirect:
    return see_other(f"{PREFIX}/agents")


@post("/sign-out", name="console-sign-out")
async def sign_out(request: AnyRequest, viewer: ViewerDep) -> Redirect:
    await viewer.services.console.sign_out(viewer.session)
    redirect = see_other(f"{PREFIX}/signed-out")
    redirect.set_cookie(session_cookie(viewer.services.settings, "", end=True))
    return redirect


@get("/signed-out", name="console-signed-out")
async def signed_out(request: AnyRequest) -> Template:
    return page(
        request,
        "signed_out.html",
        title="You are signed out",
        message="To come back, open the console from Tasker again.",
    )


ROUTES: list[Any] = [open_link, home, sign_out, signed_out]
