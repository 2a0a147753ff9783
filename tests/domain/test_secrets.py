"""No secret (token, pairing code, pepper) appears in any repr, str or exception message."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.hashing import HmacSecretHasher
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.domain.pairing import PAIRING_ALPHABET, PairingCode, normalize_pairing_code
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tokens import (
    BASE62_ALPHABET,
    AgentToken,
    IssuedToken,
    TokenStatus,
    mint_token,
)
from tests.domain import strategies as s

random_parts = st.text(alphabet=BASE62_ALPHABET, min_size=36, max_size=36)


def shown(obj: object) -> str:
    return f"{obj!r} {obj!s} {obj} {[obj]!r} { ({'k': obj})!r}"


@given(random_parts)
def test_tokens_never_show_themselves(random_part: str) -> None:
    secret = mint_token(random_part)
    raw = secret.reveal()
    record = AgentToken(
        id="t",
        agent_id="a",
        name="n",
        token_hash="HASH-" + raw[-8:],
        status=TokenStatus.ACTIVE,
        expires_at=s.NOW,
        last_used_at=None,
        created_at=s.NOW,
    )
    issued = IssuedToken(record, secret)
    for obj in (secret, record, issued):
        text = shown(obj)
        assert raw not in text
        assert random_part not in text
    assert "HASH-" not in repr(record)  # not even the stored hash is shown


@given(st.text(alphabet=PAIRING_ALPHABET, min_size=8, max_size=8))
def test_pairing_codes_never_show_themselves(code: str) -> None:
    record = PairingCode.issue(code_id="c", agent_id="a", code_hash=code + "-hash", now=s.NOW)
    assert code not in shown(record)
    for typo in (code + "X", code[:-1], code[:4] + "!" + code[4:]):
        with pytest.raises(GatewayError) as raised:
            normalize_pairing_code(typo)
        assert code not in shown(raised.value)
        assert code not in str(raised.value.as_payload())


def test_the_pepper_never_shows() -> None:
    pepper = "pepper-" + "q" * 40
    hasher = HmacSecretHasher(SecretStr(pepper), (SecretStr("old-" + "z" * 40),))
    assert "q" * 10 not in shown(hasher)
    assert "z" * 10 not in shown(hasher)
    with pytest.raises(ValueError, match="at least 32 characters") as raised:
        HmacSecretHasher(SecretStr("short-pepper-value"))
    assert "short-pepper-value" not in str(raised.value)


def test_secret_strings_refuse_to_be_pickled_and_compare_in_constant_time() -> None:
    secret = SecretStr("value-that-matters")
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret == SecretStr("value-that-matters")
    assert secret != SecretStr("value-that-differs")
    assert secret.matches("value-that-matters")
    assert f"{secret:>40}" == repr(secret)
