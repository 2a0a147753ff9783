"""Structured logs (structlog, JSON by default) with a request id, and redaction.

Every line, ours and the libraries' (uvicorn, httpx, the MCP SDK), passes one processor
chain whose redactor removes agent tokens, pairing codes, bearer credentials and the
configured secrets (internal token, peppers, upstream keys) wherever they appear: in
messages, values, nested structures and formatted tracebacks.

Our own lines (structlog's) are rendered by structlog itself and written straight to the
one handler's stream, under that handler's lock; the libraries' (the standard library's)
reach the same handler through its formatter, which runs the same chain. Our lines used
to take the standard library's way too, a `LogRecord` made twice per line and the
formatter's copy of the event: about a third of what the access line, written on every
request, cost. As the standard library's handler does, a line that cannot be written (a
closed stream, a broken pipe) is reported on stderr and never fails the request that
logged it.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

from nodedc_gateway.domain.pairing import PAIRING_ALPHABET
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.libraries import structlog

REDACTED = "[redacted]"
_LETTERS = f"[{PAIRING_ALPHABET}]"
_PATTERNS = (
    # agent tokens, OAuth authorization codes and refresh tokens, even truncated ones
    re.compile(r"ndc[acr]_[0-9A-Za-z]{20,}"),
    re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"),
    re.compile(rf"(?<![A-Za-z0-9]){_LETTERS}{{4}}-?{_LETTERS}{{4}}(?![A-Za-z0-9])"),
)
#: No pattern above and no configured secret (`Redactor.add`) matches fewer characters: a
#: bearer credential is at least "bearer" and a space and one character, a pairing code 8
#: letters, an agent token 25 characters, a secret 8. A shorter string has nothing to hide.
SHORTEST_SECRET = 8
_SENSITIVE_KEYS = re.compile(
    r"(?i)^(token|agent_token|authorization|code|pairing_code|pepper|token_pepper|"
    r"internal_token|password|secret|api_key|x-api-key|plane_api_key|tasker_token|"
    r"launcher_token|cookie|access_token|refresh_token|client_secret|code_verifier)$"
)


@functools.lru_cache(maxsize=1024)
def _is_sensitive(key: str) -> bool:
    """Whether a key's value is never logged (the keys of log lines are few and repeat)."""
    return _SENSITIVE_KEYS.match(key) is not None


class Redactor:
    """A structlog processor; also usable on plain text."""

    def __init__(self, secrets: Iterable[SecretStr | str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[SecretStr | str | None]) -> None:
        for secret in secrets:
            value = secret.reveal() if isinstance(secret, SecretStr) else secret
            if value and len(value) >= SHORTEST_SECRET and value not in self._secrets:
                self._secrets.append(value)
        self._secrets.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        if len(value) < SHORTEST_SECRET:  # most of a line's values: a level, a method
            return value
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > 8:
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, SecretStr):
            return REDACTED
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and _is_sensitive(k) else self.value(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self.value(v, depth + 1) for v in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))

    def __call__(
        self, _: Any, __: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if _is_sensitive(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self.value(event_dict[key])
        return event_dict


def configure_logging(
    redactor: Redactor, *, level: str = "info", json: bool = True, stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library through one redacting JSON pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*shared, redactor, renderer],
        logger_factory=functools.partial(_LineWriter, handler),
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        # Not cached: a later `configure_logging` (another stream, another level) holds
        # for every logger at once, those made at import time included.
        cache_logger_on_first_use=False,
    )
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "mcp", "litestar"):
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True
    # The access log is ours (with a request id); uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start; the migrations it
    # runs ("Running upgrade …", alembic.runtime.migration) stay in the log.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class _LineWriter:
    """structlog's last step for our own lines: the rendered line onto the handler's
    stream, under the handler's lock (so it never interleaves with a library's line), as
    the handler itself writes one."""

    def __init__(
        self, handler: logging.StreamHandler[TextIO], name: str = "nodedc_gateway"
    ) -> None:
        self._handler = handler
        self.name = name  # `add_logger_name` reads it

    def write(self, line: str) -> None:
        handler = self._handler
        handler.acquire()
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except RecursionError:  # as `logging.StreamHandler.emit`
            raise
        except Exception:  # logging never fails the caller
            handler.handleError(logging.makeLogRecord({"msg": "a log line was not written"}))
        finally:
            handler.release()

    debug = info = warning = error = critical = msg = write


def get_logger(name: str = "nodedc_gateway") -> Any:
    return structlog.get_logger(name)
