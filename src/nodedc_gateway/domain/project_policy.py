"""A project's policy as the gateway applies it: its card rules and how long a reporting
session may stay silent before it counts as stale."""

from __future__ import annotations

from datetime import timedelta

import attrs

from nodedc_gateway.domain.cards.rules import DEFAULT_CARD_RULES, CardRules
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.work_sessions import DEFAULT_STALE_AFTER

MAX_STALE_AFTER = timedelta(days=30)
MAX_STALE_AFTER_MINUTES = MAX_STALE_AFTER // timedelta(minutes=1)


@attrs.frozen
class ProjectPolicy:
    workspace_slug: str
    project_id: str
    card_rules: CardRules = DEFAULT_CARD_RULES
    stale_after: timedelta = DEFAULT_STALE_AFTER

    def __attrs_post_init__(self) -> None:
        if not timedelta(minutes=1) <= self.stale_after <= MAX_STALE_AFTER:
            raise ValidationFailed.field("stale_after_minutes", "must be from 1 minute to 30 days")

    @classmethod
    def default(cls, workspace_slug: str, project_id: str) -> ProjectPolicy:
        return cls(workspace_slug, project_id)
