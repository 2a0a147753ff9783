"""The one place domain errors (and Litestar's own) become RFC 9457 problem responses."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from nodedc_gateway.domain.errors import ErrorCode, GatewayError, RateLimited
from nodedc_gateway.entrypoints.logs import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "tag:nodedc.ru,2026:agent-gateway/problems/"
#: HTTP status of each contract code (CONTRACT §6).
STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.AGENT_INACTIVE: 403,
    ErrorCode.OWNER_NOT_ENTITLED: 403,
    ErrorCode.HUMAN_ONLY_OPERATION: 403,
    ErrorCode.NOT_GRANTED: 403,
    ErrorCode.SCOPE_MISSING: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.VALIDATION_FAILED: 422,
    ErrorCode.CARD_RULE_VIOLATION: 422,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.IDEMPOTENCY_IN_FLIGHT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TASKER_UNAVAILABLE: 503,
    ErrorCode.LAUNCHER_UNAVAILABLE: 503,
}
TITLES: dict[int, str] = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r"- at `\$\.?([^`]*)`")
log = get_logger("nodedc_gateway.http")


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    body = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers or {},
    )


def rate_limit_headers(error: RateLimited) -> dict[str, str]:
    """`Retry-After` plus the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers)."""
    return {
        "Retry-After": str(error.retry_after_s),
        "RateLimit-Policy": f'"{error.policy}";q={error.limit};w={error.window_s}',
        "RateLimit": f'"{error.policy}";r=0;t={error.retry_after_s}',
    }


def gateway_error(request: Request[Any, Any, Any], error: GatewayError) -> Response[bytes]:
    payload = error.as_payload()
    code, detail = payload.pop("code"), payload.pop("message")
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers = rate_limit_headers(error)
    if error.code is ErrorCode.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = 'Bearer realm="nodedc-agent-gateway"'
    return problem(request, STATUS[error.code], code, detail, headers, **payload)


def validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[bytes]:
    """Litestar's decoding errors as `validation_failed`, each naming its field."""
    errors = []
    for item in error.extra if isinstance(error.extra, list) else []:
        message = str(item.get("message", "invalid"))
        field = item.get("key") or "body"
        unknown = _UNKNOWN_FIELD.search(message)
        at_path = _AT_PATH.search(message)
        if unknown:
            field, message = unknown.group(1), "unknown field; it is not part of this request"
        elif at_path and at_path.group(1):
            field = at_path.group(1)
        errors.append({"field": str(field), "message": message})
    if not errors:
        errors.append({"field": "body", "message": error.detail or "invalid request"})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(
        request, 422, ErrorCode.VALIDATION_FAILED, f"Invalid input. {summary}", errors=errors
    )


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    if isinstance(error, NotFoundException | MethodNotAllowedException) or status in (404, 405):
        # No such route (or not with this method): the contract's not_found. A 405 names
        # the methods the route has (`Allow`, RFC 9110 §15.5.6).
        allow = {k: v for k, v in (error.headers or {}).items() if k.lower() == "allow"}
        return problem(
            request, status, ErrorCode.NOT_FOUND, "No such resource or method here.", allow
        )
    if status == 401:
        return problem(
            request,
            401,
            ErrorCode.UNAUTHENTICATED,
            "Missing or invalid credentials.",
            {"WWW-Authenticate": 'Bearer realm="nodedc-agent-gateway"'},
        )
    if status in (400, 413, 415):
        detail = str(error.detail) or TITLES.get(status, "Bad request")
        return problem(
            request,
            422 if status == 400 else status,
            ErrorCode.VALIDATION_FAILED,
            detail,
            errors=[{"field": "body", "message": detail}],
        )
    if status == 429:
        return problem(request, 429, ErrorCode.RATE_LIMITED, "Too many requests.")
    return unexpected(request, error)


def unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    """Anything else is our bug: logged with its traceback, answered without details."""
    log.error("unhandled error", path=request.url.path, exc_info=error)
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "The gateway failed unexpectedly; the request id identifies it in the logs.",
    )


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    GatewayError: gateway_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected,
}
