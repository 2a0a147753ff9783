"""Access requests, work sessions and project policies; grants indexed by workspace.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_grants_workspace_slug"), "grants", ["workspace_slug"])

    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=128), nullable=False),
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("project_ref", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("approved_scopes", sa.JSON(), nullable=True),
        sa.Column("suggested_scopes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_access_requests_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(op.f("ix_access_requests_agent_id_id"), "access_requests", ["agent_id", "id"])
    op.create_index(
        op.f("ix_access_requests_owner_user_id_id"), "access_requests", ["owner_user_id", "id"]
    )

    op.create_table(
        "work_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=128), nullable=False),
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("issue_identifier", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("finish_summary", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_work_sessions_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_sessions")),
    )
    op.create_index(
        op.f("ix_work_sessions_workspace_slug_status_id"),
        "work_sessions",
        ["workspace_slug", "status", "id"],
    )

    op.create_table(
        "project_policies",
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("card_rules", sa.JSON(), nullable=False),
        sa.Column("stale_after_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_slug", "project_id", name=op.f("pk_project_policies")),
    )


def downgrade() -> None:
    op.drop_table("project_policies")
    op.drop_index(op.f("ix_work_sessions_workspace_slug_status_id"), table_name="work_sessions")
    op.drop_table("work_sessions")
    op.drop_index(op.f("ix_access_requests_owner_user_id_id"), table_name="access_requests")
    op.drop_index(op.f("ix_access_requests_agent_id_id"), table_name="access_requests")
    op.drop_table("access_requests")
    op.drop_index(op.f("ix_grants_workspace_slug"), table_name="grants")
