"""Checker ids and texts as an agent gives them, checked and bounded."""

from __future__ import annotations

from collections.abc import Iterable

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.cards.limits import MAX_CHECKER_TEXT, MAX_CHECKERS_PER_CALL
from nodedc_gateway.domain.errors import ValidationFailed


def checker_ids(value: Iterable[object], field: str) -> list[str]:
    given = _bounded_list(value, field)
    ids = [
        validation.text(item, f"{field}[{i}]", max_length=validation.MAX_ID_INPUT)
        for i, item in enumerate(given)
    ]
    return list(dict.fromkeys(ids))


def checker_texts(value: Iterable[object], field: str) -> list[str]:
    given = _bounded_list(value, field)
    return [
        " ".join(validation.text(item, f"{field}[{i}]", max_length=MAX_CHECKER_TEXT).split())
        for i, item in enumerate(given)
    ]


def _bounded_list(value: Iterable[object], field: str) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationFailed.field(field, "must be a list")
    given: list[object] = []
    for item in value:
        given.append(item)
        if len(given) > MAX_CHECKERS_PER_CALL:
            raise ValidationFailed.field(field, f"at most {MAX_CHECKERS_PER_CALL} items")
    return given
