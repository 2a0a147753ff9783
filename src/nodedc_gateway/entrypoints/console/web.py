"""The console's framework glue: who is signed in, the session cookie, security headers,
error pages, and the one way a page is rendered or a form answered."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import Dependency
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from nodedc_gateway.application.ownership import ManagementDeps
from nodedc_gateway.application.pipeline import Outcome, OwnerAction
from nodedc_gateway.domain.console import SESSION_ABSOLUTE, ConsoleSession
from nodedc_gateway.domain.errors import GatewayError, RateLimited, ValidationFailed
from nodedc_gateway.domain.idempotency import idempotency_key
from nodedc_gateway.entrypoints.bootstrap import Services
from nodedc_gateway.entrypoints.http.problems import STATUS
from nodedc_gateway.entrypoints.http.security import services_of
from nodedc_gateway.entrypoints.settings import Settings

if TYPE_CHECKING:
    from jinja2 import Template as JinjaTemplate
    from litestar.plugins.jinja import JinjaTemplateEngine

AnyRequest = Request[Any, Any, Any]
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"
#: The hidden form field carrying a per-render idempotency key, so a resent form
#: (a double click, a reload) replays instead of acting twice.
KEY_FIELD = "idempotency_key"


def console_url(public_url: str, code: str) -> str:
    """Where a one-time link opens the console."""
    return f"{public_url.rstrip('/')}{PREFIX}/open/{code}"


def cookie_name(settings: Settings) -> str:
    return "nodedc_console" if settings.is_local else "__Host-nodedc_console"


def csrf_cookie_name(settings: Settings) -> str:
    return "nodedc_console_csrf" if settings.is_local else "__Host-nodedc_console_csrf"


def csrf_secret(settings: Settings) -> str:
    """The same on every replica (derived from the pepper), useless without it."""
    if settings.token_pepper is None:
        return secrets.token_hex(32)
    key = settings.token_pepper.reveal().encode()
    return hmac.new(key, b"nodedc-console-csrf", "sha256").hexdigest()


def frame_ancestors(settings: Settings) -> str:
    # `none` and `self` lose their quotes easily on the way through a .env file
    value = " ".join(
        f"'{source}'" if source in ("none", "self") else source
        for source in settings.console_frame_ancestors.split()
    )
    if not value or any(c in value for c in ';,\r\n"') or len(value) > 1024:
        raise ValueError(
            "CONSOLE_FRAME_ANCESTORS must be CSP sources separated by spaces, "
            "e.g. 'none' or https://tasker.example.com"
        )
    return value


def security_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {frame_ancestors(settings)}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def template_config() -> TemplateConfig[LazyJinja]:
    return TemplateConfig(directory=TEMPLATES, engine=LazyJinja)


class LazyJinja:
    """Litestar's Jinja engine with the console's filters, made when the first page is
    rendered: Jinja is imported then, not as `serve` starts (about 15 ms and 2 MB before
    the first visitor, who may never come). Litestar makes its template engine as the app
    is built; this one only remembers where the templates are until a page asks."""

    def __init__(self, directory: Path | list[Path] | None, engine_instance: Any = None) -> None:
        # `engine_instance`: part of Litestar's protocol; it passes None for a class.
        self._directory = directory
        self._callables: list[tuple[str, Callable[[Mapping[str, Any]], Any]]] = []
        self._engine: JinjaTemplateEngine | None = None

    def _made(self) -> JinjaTemplateEngine:
        if self._engine is None:
            from litestar.plugins.jinja import JinjaTemplateEngine

            engine = JinjaTemplateEngine(directory=self._directory)
            engine.engine.filters["when"] = when
            for key, template_callable in self._callables:
                engine.register_template_callable(key, template_callable)
            self._engine = engine
        return self._engine

    def get_template(self, template_name: str) -> JinjaTemplate:
        return self._made().get_template(template_name)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return self._made().render_string(template_string, context)

    def register_template_callable(
        self, key: str, template_callable: Callable[[Mapping[str, Any]], Any]
    ) -> None:
        if self._engine is None:
            self._callables.append((key, template_callable))
        else:
            self._engine.register_template_callable(key, template_callable)


def when(value: object) -> str:
    """`2026-12-04T17:30:12.123456Z` -> `2026-12-04 17:30 UTC`."""
    if not value:
        return "—"
    text = str(value)
    return text[:16].replace("T", " ") + " UTC"


class SignedOut(Exception):
    """No live console session: never signed in, signed out, idle or past 8 hours."""


@attrs.frozen
class Viewer:
    """The owner whose console this is, and the person at the keyboard."""

    session: ConsoleSession
    services: Services

    @property
    def owner(self) -> str:
        return self.session.owner_user_id

    @property
    def actor(self) -> str:
        return self.session.actor_user_id

    @property
    def management(self) -> ManagementDeps:
        return self.services.management

    async def run(self, action: OwnerAction[Any], key: str | None = None) -> Outcome:
        return await self.services.pipeline.run_owner(self.owner, self.actor, action, key)

    async def body(self, action: OwnerAction[Any], key: str | None = None) -> Mapping[str, Any]:
        return (await self.run(action, key)).body


#: A console page's signed-in viewer (the router's `viewer` dependency).
ViewerDep = Annotated[Viewer, Dependency(kind="named")]
#: An agent, grant, token or request id in a path: anything but a UUID is not found.
EntityPath = Annotated[str, PathParameter(max_length=64)]
#: A short text in the query string (a filter, a notice name).
QueryText = Annotated[str | None, QueryParameter(max_length=64, required=False)]


async def current_viewer(request: AnyRequest) -> Viewer:
    """Dependency of every console page but the entry: the live session or a sign-in page."""
    services = services_of(request)
    token = request.cookies.get(cookie_name(services.settings))
    session = await services.console.session(token)
    if session is None:
        raise SignedOut()
    return Viewer(session, services)


def session_cookie(settings: Settings, value: str, *, end: bool = False) -> Cookie:
    return Cookie(
        key=cookie_name(settings),
        value=value,
        path="/",
        max_age=0 if end else int(SESSION_ABSOLUTE.total_seconds()),
        httponly=True,
        secure=not settings.is_local,
        samesite="lax",
    )


def page(request: AnyRequest, name: str, status: int = 200, **context: Any) -> Template:
    settings = services_of(request).settings
    return Template(
        template_name=name,
        context={"prefix": PREFIX, "new_key": new_key, **context},
        status_code=status,
        headers=security_headers(settings),
    )


def see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def new_key() -> str:
    return "console-" + secrets.token_urlsafe(18)


async def form_of(request: AnyRequest) -> Any:
    return await request.form()


def field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return None if value is None else str(value)


def fields(form: Any, name: str) -> list[str]:
    return [str(v) for v in form.getall(name, [])]


def form_key(form: Any) -> str | None:
    value = field(form, KEY_FIELD)
    return None if value is None else idempotency_key(value, KEY_FIELD)


# --- errors: an HTML page saying what went wrong, with the same security headers -----


def on_gateway_error(request: AnyRequest, error: GatewayError) -> Any:
    status = STATUS.get(error.code, 400)
    errors: Sequence[Any] = error.errors if isinstance(error, ValidationFailed) else ()
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
    title = {
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        409: "Still working on it",
        422: "Please check what you entered",
        429: "Too many attempts",
        503: "Tasker is unavailable",
    }.get(status, "Something went wrong")
    template = page(
        request, "error.html", status, title=title, message=error.message, errors=errors
    )
    template.headers.update(headers)
    return template


def on_signed_out(request: AnyRequest, _: SignedOut) -> Any:
    return page(
        request,
        "signed_out.html",
        401,
        title="Your console session has ended",
        message=(
            "You signed out, the session was idle for 30 minutes, or 8 hours have passed. "
            "Open the console from Tasker again."
        ),
    )


def on_forbidden(request: AnyRequest, error: PermissionDeniedException) -> Any:
    return page(
        request,
        "error.html",
        403,
        title="This form has expired",
        message=(
            "The form's security token was missing or wrong, so nothing was changed. "
            "Reload the page and try again."
        ),
        errors=(),
    )


def on_http_error(request: AnyRequest, error: HTTPException) -> Any:
    return page(
        request,
        "error.html",
        error.status_code,
        title="Not found" if error.status_code == 404 else "Request refused",
        message=str(error.detail),
        errors=(),
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    GatewayError: on_gateway_error,
    SignedOut: on_signed_out,
    PermissionDeniedException: on_forbidden,
    HTTPException: on_http_error,
}
