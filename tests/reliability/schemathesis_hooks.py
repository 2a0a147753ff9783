"""Schemathesis hooks for the OpenAPI run (`test_openapi_fuzz.py`): half of the cases
get path parameters that exist (the demo owner, agent, grant and token), so the run
reaches the 2xx paths too, not only the 404s of random ids."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

KNOWN_IDS_VARIABLE = "NODEDC_SCHEMATHESIS_KNOWN_IDS"
_KNOWN: dict[str, str] = json.loads(os.environ.get(KNOWN_IDS_VARIABLE, "{}"))


@schemathesis.hook
def flatmap_case(context: schemathesis.HookContext, case: Any) -> st.SearchStrategy[Any]:
    """Half the cases whose path was generated valid get ids that exist in it (a path
    generated to be invalid stays as it is: that is what such a case tests). Done on the
    whole case, where the path's generation mode is known."""
    known = {name: _KNOWN[name] for name in case.path_parameters or {} if name in _KNOWN}
    path = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if not known or (path is not None and path.mode is GenerationMode.NEGATIVE):
        return st.just(case)

    def swapped(swap: bool) -> Any:
        if swap:
            case.path_parameters = {**case.path_parameters, **known}
        return case

    return st.booleans().map(swapped)


@schemathesis.hook
def flatmap_headers(
    context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """A key reused with other arguments is rightly refused (422 idempotency_key_reused,
    CONTRACT §7), but schemathesis reuses its favourite short keys across unrelated
    requests; give each generated key a unique suffix so a valid request stays valid."""
    key = (headers or {}).get("Idempotency-Key")
    if not isinstance(key, str) or len(key) > 200:
        return st.just(headers)
    return st.uuids().map(lambda suffix: {**(headers or {}), "Idempotency-Key": f"{key}-{suffix}"})


#: Refusals of a well-formed request that depend on what happened before it, not on its
#: shape: a key already used for other arguments, or an agent or grant revoked earlier
#: in the run (revocation is for good; the contract answers validation_failed).
_STATE_REFUSALS = ("idempotency_key_reused",)
_STATE_WORDS = ("revoked", "only an active agent")


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: Any, response: Any
) -> bool:
    """Keep every failure except "schema-valid request rejected" (ST202) when the
    rejection was about state, which no schema can describe."""
    if getattr(failure, "code", None) != "ST202":
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    if body.get("code") in _STATE_REFUSALS:
        return False
    errors = body.get("errors") or []
    return not (
        body.get("code") == "validation_failed"
        and errors
        and all(
            any(word in str(error.get("message", "")) for word in _STATE_WORDS) for error in errors
        )
    )
