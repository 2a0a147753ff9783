"""Index `oauth_refresh_tokens.expires_at` for the purge.

The purge deletes a refresh token family once none of its tokens is unexpired: two
lookups by `expires_at` (`<= now`, `> now`) that would otherwise read the whole table
every round. Authorization codes already have `ix_oauth_codes_expires_at`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_oauth_refresh_tokens_expires_at"), "oauth_refresh_tokens", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_refresh_tokens_expires_at"), table_name="oauth_refresh_tokens")
