"""Configuration (CONTRACT §9): `NODEDC_AGENT_GATEWAY_*` from the environment, `.env` and,
in staging, `.env.staging`. Nothing is read at import time.

Precedence, highest first: the process environment, `.env.staging` (when ENV is staging),
`.env`. A variable with our prefix that we do not know is an error (a typo would otherwise
be silently ignored). In `local` mode only, a missing internal token or pepper is generated
once and kept (0600) beside the embedded database so every local command agrees.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from cattrs.v import format_exception
from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.secret import SecretStr

PREFIX = "NODEDC_AGENT_GATEWAY_"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/gateway.db"
MIN_CODE_LENGTH = 32
LOCAL_SECRETS_FILE = "local-secrets.json"


class Environment(StrEnum):
    LOCAL = "local"
    STAGING = "staging"
    PRODUCTION = "production"


class TaskerBackend(StrEnum):
    SANDBOX = "sandbox"
    TASKER = "tasker"
    PLANE = "plane"


class LauncherBackend(StrEnum):
    STATIC = "static"
    HTTP = "http"


class SettingsError(Exception):
    """Configuration that cannot be used; one line per problem, no secret values."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))


def _csv(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


@attrs.frozen
class Settings:
    env: Environment = Environment.LOCAL
    database_url: str = DEFAULT_DATABASE_URL
    internal_token: SecretStr | None = None
    #: Internal tokens still accepted while Tasker and Launcher move to a new one.
    internal_token_previous: tuple[SecretStr, ...] = ()
    token_pepper: SecretStr | None = None
    #: Peppers still accepted while tokens are re-issued after a rotation.
    token_pepper_previous: tuple[SecretStr, ...] = ()
    public_url: str = "http://127.0.0.1:8000"
    allowed_origins: tuple[str, ...] = ()
    tasker_backend: TaskerBackend = TaskerBackend.SANDBOX
    tasker_url: str | None = None
    tasker_token: SecretStr | None = None
    plane_url: str | None = None
    plane_api_key: SecretStr | None = None
    #: Plane has no endpoint listing workspaces: the slugs the gateway may reach.
    plane_workspaces: tuple[str, ...] = ()
    launcher_backend: LauncherBackend = LauncherBackend.STATIC
    launcher_url: str | None = None
    launcher_token: SecretStr | None = None
    #: The static Launcher's entitled user ids; `*` (everyone) only in local mode.
    launcher_entitled_users: tuple[str, ...] = ("*",)
    host: str = "127.0.0.1"
    port: int = 8000
    read_limit_per_minute: int = 600
    read_burst: int = 60
    write_limit_per_minute: int = 120
    write_burst: int = 20
    redeem_limit_per_minute: int = 10
    redeem_global_limit_per_minute: int = 600
    log_level: str = "info"
    log_format: str = "json"
    #: Addresses (IPs or CIDR networks) of reverse proxies whose `X-Forwarded-For` and
    #: `X-Forwarded-Proto` are believed: the client address the per-client redeem limit
    #: counts. `*` trusts any peer (only when nothing but the proxy can reach the gateway).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    #: How often a served gateway deletes expired idempotency records, pairing codes,
    #: console entries, OAuth codes and refresh families, and idle rate-limit state, in
    #: seconds; 0 turns the periodic purge off.
    purge_interval_s: int = 3600
    #: OAuth client metadata documents may be fetched from private, loopback and
    #: link-local addresses (tests, a lab network); off by default (SSRF).
    oauth_documents_allow_private: bool = False
    #: The owner console's CSP `frame-ancestors` (CONTRACT §13): who may embed it, e.g.
    #: `https://tasker.example.com`; `'none'` forbids framing.
    console_frame_ancestors: str = "'none'"

    @property
    def mcp_url(self) -> str:
        return self.public_url.rstrip("/") + "/mcp"

    @property
    def is_local(self) -> bool:
        return self.env is Environment.LOCAL

    def rate_policies(self) -> dict[str, RatePolicy]:
        return {
            "reads": RatePolicy("reads", self.read_limit_per_minute, 60, self.read_burst),
            "writes": RatePolicy("writes", self.write_limit_per_minute, 60, self.write_burst),
            "redeem_per_client": RatePolicy(
                "redeem", self.redeem_limit_per_minute, 60, self.redeem_limit_per_minute
            ),
            "redeem_global": RatePolicy(
                "redeem-global",
                self.redeem_global_limit_per_minute,
                60,
                max(1, self.redeem_global_limit_per_minute // 6),
            ),
        }

    def embedded_directory(self) -> Path:
        """Where the embedded database (and local secrets) live."""
        path = _sqlite_file(self.database_url)
        return Path(path).parent if path else Path("var")

    def problems(self) -> list[str]:
        """What makes this configuration unusable (or unsafe for its environment), one
        sentence per problem, naming the variable and never a secret's value."""
        found: list[str] = []
        found += self._secret_problems()
        found += self._backend_problems()
        found += self._value_problems()
        found += self._number_and_format_problems()
        if not self.is_local:
            found += self._deployed_problems()
        if self.env is Environment.PRODUCTION:
            found += self._production_problems()
        return found

    def _secret_problems(self) -> list[str]:
        found: list[str] = []
        strict = not self.is_local
        for name in ("internal_token", "token_pepper"):
            value: SecretStr | None = getattr(self, name)
            var = PREFIX + name.upper()
            if value is None:
                found.append(f"{var} is missing")
            else:
                found += _weak_secret(var, value, strict=strict)
        for value in self.internal_token_previous:
            found += _weak_secret(f"{PREFIX}INTERNAL_TOKEN_PREVIOUS", value, strict=strict)
            if self.internal_token is not None and value == self.internal_token:
                found.append(
                    f"{PREFIX}INTERNAL_TOKEN_PREVIOUS repeats {PREFIX}INTERNAL_TOKEN; "
                    "list only the tokens that were replaced"
                )
        for value in self.token_pepper_previous:
            found += _weak_secret(f"{PREFIX}TOKEN_PEPPER_PREVIOUS", value, strict=strict)
            if self.token_pepper is not None and value == self.token_pepper:
                found.append(
                    f"{PREFIX}TOKEN_PEPPER_PREVIOUS repeats {PREFIX}TOKEN_PEPPER; "
                    "list only the peppers that were replaced"
                )
        if (
            self.internal_token is not None
            and self.token_pepper is not None
            and self.internal_token == self.token_pepper
        ):
            found.append(
                f"{PREFIX}INTERNAL_TOKEN and {PREFIX}TOKEN_PEPPER are the same value; "
                "they must be independent secrets"
            )
        if strict:
            for name in ("tasker_token", "plane_api_key", "launcher_token"):
                upstream: SecretStr | None = getattr(self, name)
                if upstream is not None:
                    found += _placeholder_secret(PREFIX + name.upper(), upstream)
        return found

    def _backend_problems(self) -> list[str]:
        found: list[str] = []
        if self.tasker_backend is TaskerBackend.TASKER and not (
            self.tasker_url and self.tasker_token
        ):
            found.append(
                f"{PREFIX}TASKER_URL and {PREFIX}TASKER_TOKEN are needed for the tasker backend"
            )
        if self.tasker_backend is TaskerBackend.PLANE and not (
            self.plane_url and self.plane_api_key
        ):
            found.append(
                f"{PREFIX}PLANE_URL and {PREFIX}PLANE_API_KEY are needed for the plane backend"
            )
        if self.launcher_backend is LauncherBackend.HTTP and not (
            self.launcher_url and self.launcher_token
        ):
            found.append(
                f"{PREFIX}LAUNCHER_URL and {PREFIX}LAUNCHER_TOKEN are needed for the http launcher"
            )
        if self.tasker_backend is TaskerBackend.PLANE and not self.plane_workspaces:
            found.append(
                f"{PREFIX}PLANE_WORKSPACES must list the workspace slugs agents may reach "
                "(e.g. demo,ops:off)"
            )
        return found

    def _value_problems(self) -> list[str]:
        found: list[str] = []
        for name in ("public_url", "tasker_url", "plane_url", "launcher_url"):
            url = getattr(self, name)
            if url is not None and not _is_http_url(url):
                found.append(f"{PREFIX}{name.upper()} must be an http(s) URL with a host")
        for origin in self.allowed_origins:
            if origin != "*" and not _is_http_url(origin):
                found.append(
                    f"{PREFIX}ALLOWED_ORIGINS: {origin!r} is not an origin like https://host"
                )
        if not (
            self.database_url == "memory://"
            or self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://"))
        ):
            found.append(
                f"{PREFIX}DATABASE_URL must start with postgresql+psycopg:// "
                "(or sqlite+aiosqlite:// in local mode)"
            )
        elif self.database_url.startswith("sqlite") and _sqlite_file(self.database_url) is None:
            found.append(
                f"{PREFIX}DATABASE_URL must name a SQLite file (sqlite+aiosqlite:///path.db): "
                "an in-memory SQLite database is private to one connection "
                "(memory:// keeps everything in process)"
            )
        return found

    def _number_and_format_problems(self) -> list[str]:
        found: list[str] = []
        if not 0 <= self.port <= 65535:
            found.append(f"{PREFIX}PORT must be between 0 and 65535")
        for name in (
            "read_limit_per_minute",
            "read_burst",
            "write_limit_per_minute",
            "write_burst",
            "redeem_limit_per_minute",
            "redeem_global_limit_per_minute",
        ):
            if getattr(self, name) < 1:
                found.append(f"{PREFIX}{name.upper()} must be at least 1")
        if self.purge_interval_s < 0:
            found.append(f"{PREFIX}PURGE_INTERVAL_S must be 0 (off) or a number of seconds")
        if self.log_level.lower() not in LOG_LEVELS:
            found.append(f"{PREFIX}LOG_LEVEL must be one of " + ", ".join(LOG_LEVELS))
        if self.log_format not in LOG_FORMATS:
            found.append(f"{PREFIX}LOG_FORMAT must be one of " + ", ".join(LOG_FORMATS))
        for proxy in self.trusted_proxies:
            if proxy != "*" and not _is_address_or_network(proxy):
                found.append(
                    f"{PREFIX}TRUSTED_PROXIES: {proxy!r} is not an IP address or network "
                    "(e.g. 10.0.0.0/8)"
                )
        return found

    def _deployed_problems(self) -> list[str]:
        """Staging and production: no embedded shortcuts."""
        found = []
        if not self.database_url.startswith("postgresql"):
            found.append(f"{PREFIX}DATABASE_URL must be PostgreSQL outside local mode")
        elif _has_placeholder(_url_password(self.database_url)):
            found.append(f"{PREFIX}DATABASE_URL carries a placeholder password; set the real one")
        if "*" in self.launcher_entitled_users and self.launcher_backend is LauncherBackend.STATIC:
            found.append(f"{PREFIX}LAUNCHER_ENTITLED_USERS='*' is for local mode only")
        if self.tasker_backend is TaskerBackend.SANDBOX:
            found.append(f"{PREFIX}TASKER_BACKEND=sandbox is for local mode only")
        if "*" in self.allowed_origins:
            found.append(f"{PREFIX}ALLOWED_ORIGINS='*' is for local mode only; list the origins")
        return found

    def _production_problems(self) -> list[str]:
        """Production refuses what is only a development convenience."""
        found = []
        if not self.public_url.startswith("https://"):
            found.append(f"{PREFIX}PUBLIC_URL must be https in production")
        if urlsplit(self.public_url).hostname in _LOOPBACK_HOSTS:
            found.append(
                f"{PREFIX}PUBLIC_URL points at this machine ({self.public_url}); "
                "set the address agents use"
            )
        if self.launcher_backend is LauncherBackend.STATIC:
            found.append(
                f"{PREFIX}LAUNCHER_BACKEND=static is for local and staging; production asks "
                "Launcher (http)"
            )
        if self.log_format != "json":
            found.append(f"{PREFIX}LOG_FORMAT must be json in production (log shipping reads it)")
        return found


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("json", "console")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104 - compared, not bound
#: Words that mark a value copied from an example file rather than generated.
_PLACEHOLDERS = ("change-me", "changeme", "change_me", "example", "placeholder", "replace-me")
MIN_DISTINCT_CHARACTERS = 12


def _weak_secret(var: str, value: SecretStr, *, strict: bool) -> list[str]:
    """Length everywhere; outside local mode also placeholders and too few distinct
    characters (a generated secret of 32+ characters has many)."""
    if len(value) < MIN_CODE_LENGTH:
        return [f"{var} is too short (at least {MIN_CODE_LENGTH} characters)"]
    if not strict:
        return []
    found = _placeholder_secret(var, value)
    if not found and len(set(value.reveal())) < MIN_DISTINCT_CHARACTERS:
        found.append(
            f"{var} is too repetitive to be random (generate one: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return found


def _placeholder_secret(var: str, value: SecretStr) -> list[str]:
    if _has_placeholder(value.reveal()):
        return [f"{var} is a placeholder from an example file; generate a real secret"]
    return []


def _has_placeholder(value: str | None) -> bool:
    return value is not None and any(word in value.lower() for word in _PLACEHOLDERS)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def _is_address_or_network(value: str) -> bool:
    try:
        if "/" in value:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _converter() -> cattrs.Converter:
    converter = make_converter(forbid_extra_keys=True)
    converter.register_structure_hook(SecretStr, lambda v, _: SecretStr(str(v)))
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], lambda v, _: _csv(v))
    converter.register_structure_hook_func(
        lambda t: t == tuple[SecretStr, ...], lambda v, _: tuple(SecretStr(p) for p in _csv(v))
    )
    return converter


def _read_env_files(directory: Path, environ: Mapping[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    base = directory / ".env"
    if base.is_file():
        merged.update({k: v for k, v in dotenv_values(base).items() if v is not None})
    env = environ.get(PREFIX + "ENV", merged.get(PREFIX + "ENV", "local"))
    staging = directory / ".env.staging"
    if env == Environment.STAGING and staging.is_file():
        merged.update({k: v for k, v in dotenv_values(staging).items() if v is not None})
    return merged


def load_settings(
    environ: Mapping[str, str] | None = None, directory: Path | None = None, **overrides: Any
) -> Settings:
    """Settings from the environment and dotenv files; raises `SettingsError`."""
    environ = os.environ if environ is None else environ
    values = _read_env_files(directory or Path.cwd(), environ)
    values.update(environ)
    raw: dict[str, Any] = {
        key[len(PREFIX) :].lower(): value for key, value in values.items() if key.startswith(PREFIX)
    }
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = _converter().structure(raw, Settings)
    except cattrs.BaseValidationError as error:
        raise SettingsError(_describe(error)) from None
    if "public_url" not in raw:
        # No PUBLIC_URL: the gateway is reached where it listens (`demo --port 18123`
        # prints a Codex config for port 18123, not for the default 8000).
        settings = attrs.evolve(settings, public_url=served_url(settings.host, settings.port))
    if not settings.is_local and "*" in settings.launcher_entitled_users:
        settings = attrs.evolve(settings, launcher_entitled_users=())
    return settings


def served_url(host: str, port: int) -> str:
    """The http URL of a gateway listening on host:port; a wildcard address (all
    interfaces) is reached on this machine's loopback."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _format(exception: BaseException, type_: type[Any] | None) -> str:
    if isinstance(type_, type) and issubclass(type_, StrEnum):
        return "must be one of " + ", ".join(member.value for member in type_)
    return format_exception(exception, type_)


def _describe(error: cattrs.BaseValidationError) -> list[str]:
    problems = []
    for line in cattrs.transform_error(error, path="settings", format_exception=_format):
        # "invalid value for type, expected int @ settings.port" -> name the variable
        message, _, where = line.partition(" @ ")
        field = where.removeprefix("settings.").split(".", 1)[0].split("[", 1)[0]
        variable = PREFIX + field.upper() if field else "settings"
        if "extra fields found" in message:
            names = message.split("extra fields found", 1)[1].strip(" ():")
            message = "unknown variable(s): " + ", ".join(
                PREFIX + n.strip().upper() for n in names.split(",") if n.strip()
            )
            variable = "configuration"
        problems.append(f"{variable}: {message}")
    return problems


def with_local_secrets(settings: Settings) -> Settings:
    """In local mode, fill a missing internal token or pepper from (or into) a 0600 file
    beside the embedded database. Other environments never generate a secret."""
    if not settings.is_local or (settings.internal_token and settings.token_pepper):
        return settings
    directory = settings.embedded_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCAL_SECRETS_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    changed = False
    for name in ("internal_token", "token_pepper"):
        if name not in stored:
            stored[name] = secrets.token_urlsafe(48)
            changed = True
    if changed:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(stored, handle)
    os.chmod(path, 0o600)
    return attrs.evolve(
        settings,
        internal_token=settings.internal_token or SecretStr(stored["internal_token"]),
        token_pepper=settings.token_pepper or SecretStr(stored["token_pepper"]),
    )


def _sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names; None for none or an in-memory database."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return path if path and path != ":memory:" else None
