"""A pending authorization request, carried through the consent page sealed (HMAC under
the token pepper, via the SecretHasher port) and with a deadline, so the page keeps no
server-side state and nobody can alter the redirect URI, PKCE challenge or client."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import attrs

from nodedc_gateway.application.oauth import Pending
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher

SEALED_TTL = timedelta(minutes=15)
MAX_SEALED = 8192
_CONTEXT = "oauth-consent-request:"


class SealBroken(Exception):
    """Altered, expired or not a sealed request."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen
class Sealer:
    hasher: SecretHasher
    clock: Clock

    def seal(self, pending: Pending) -> str:
        body = attrs.asdict(pending)
        body["scopes"] = list(pending.scopes)
        body["exp"] = (self.clock.now() + SEALED_TTL).isoformat()
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self.hasher.hash(_CONTEXT + payload)}"

    def open(self, sealed: object) -> Pending:
        if not isinstance(sealed, str) or len(sealed) > MAX_SEALED or "." not in sealed:
            raise SealBroken()
        payload, _, mac = sealed.rpartition(".")
        if not self.hasher.verify(_CONTEXT + payload, mac):
            raise SealBroken()
        try:
            body = json.loads(_unb64(payload))
            if datetime.fromisoformat(body.pop("exp")) <= self.clock.now():
                raise SealBroken()
            body["scopes"] = tuple(body["scopes"])
            return Pending(**body)
        except (ValueError, KeyError, TypeError):
            raise SealBroken() from None
