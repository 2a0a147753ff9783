"""Initial schema: agents, tokens, pairing codes, grants and their versions, idempotency
keys, the audit log and its chain heads, rate-limit state, and the sandbox Tasker.

Timestamps are `DateTime(timezone=True)` here; the application reads and writes them
through its `UtcDateTime` type, which keeps UTC with microseconds on both databases.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:11:36.669165
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=128), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index(op.f("ix_agents_owner_user_id_id"), "agents", ["owner_user_id", "id"])

    op.create_table(
        "audit_chain_heads",
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_chain_heads")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=True),
        sa.Column("owner_user_id", sa.String(length=128), nullable=True),
        sa.Column("actor_user_id", sa.String(length=128), nullable=True),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("grant_versions", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=128), nullable=False),
        sa.Column("hash", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("chain_id", "seq", name=op.f("uq_audit_events_chain_id_seq")),
    )
    op.create_index(
        op.f("ix_audit_events_chain_id_created_at"), "audit_events", ["chain_id", "created_at"]
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=160), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("response_ok", sa.Boolean(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"])

    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("tat_us", sa.BigInteger(), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "sandbox_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_users")),
        sa.UniqueConstraint("email", name=op.f("uq_sandbox_users_email")),
    )
    op.create_table(
        "sandbox_workspaces",
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("agents_allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_sandbox_workspaces")),
    )
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_tokens_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_tokens_token_hash")),
    )
    op.create_index(op.f("ix_agent_tokens_agent_id"), "agent_tokens", ["agent_id"])

    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_grants_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index(op.f("ix_grants_agent_id"), "grants", ["agent_id"])

    op.create_table(
        "pairing_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_pairing_codes_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_pairing_codes_code_hash")),
    )
    op.create_index(op.f("ix_pairing_codes_agent_id"), "pairing_codes", ["agent_id"])
    op.create_index(op.f("ix_pairing_codes_expires_at"), "pairing_codes", ["expires_at"])

    op.create_table(
        "sandbox_projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("next_sequence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_slug"],
            ["sandbox_workspaces.slug"],
            name=op.f("fk_sandbox_projects_workspace_slug_sandbox_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_projects")),
        sa.UniqueConstraint(
            "workspace_slug",
            "identifier",
            name=op.f("uq_sandbox_projects_workspace_slug_identifier"),
        ),
    )
    op.create_table(
        "sandbox_workspace_members",
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["sandbox_users.id"],
            name=op.f("fk_sandbox_workspace_members_user_id_sandbox_users"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_slug"],
            ["sandbox_workspaces.slug"],
            name=op.f("fk_sandbox_workspace_members_workspace_slug_sandbox_workspaces"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace_slug", "user_id", name=op.f("pk_sandbox_workspace_members")
        ),
    )
    op.create_table(
        "grant_versions",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("workspace_slug", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("changed_by_user_id", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_versions_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("grant_id", "version", name=op.f("pk_grant_versions")),
    )
    op.create_table(
        "sandbox_labels",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["sandbox_projects.id"],
            name=op.f("fk_sandbox_labels_project_id_sandbox_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_labels")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_sandbox_labels_project_id_name")),
    )
    op.create_table(
        "sandbox_project_members",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["sandbox_projects.id"],
            name=op.f("fk_sandbox_project_members_project_id_sandbox_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["sandbox_users.id"],
            name=op.f("fk_sandbox_project_members_user_id_sandbox_users"),
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_sandbox_project_members")),
    )
    op.create_table(
        "sandbox_states",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("state_group", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["sandbox_projects.id"],
            name=op.f("fk_sandbox_states_project_id_sandbox_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_states")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_sandbox_states_project_id_name")),
    )
    op.create_table(
        "sandbox_issues",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_folded", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("state_id", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_by_agent_id", sa.String(length=36), nullable=True),
        sa.Column("created_by_owner_user_id", sa.String(length=128), nullable=True),
        sa.Column("updated_by_agent_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["sandbox_issues.id"],
            name=op.f("fk_sandbox_issues_parent_id_sandbox_issues"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["sandbox_projects.id"],
            name=op.f("fk_sandbox_issues_project_id_sandbox_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["state_id"],
            ["sandbox_states.id"],
            name=op.f("fk_sandbox_issues_state_id_sandbox_states"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_issues")),
        sa.UniqueConstraint(
            "project_id", "external_id", name=op.f("uq_sandbox_issues_project_id_external_id")
        ),
        sa.UniqueConstraint(
            "project_id", "sequence_id", name=op.f("uq_sandbox_issues_project_id_sequence_id")
        ),
    )
    op.create_index(
        op.f("ix_sandbox_issues_project_id_created_at"),
        "sandbox_issues",
        ["project_id", "created_at"],
    )

    op.create_table(
        "sandbox_comments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("author_display_name", sa.String(length=255), nullable=False),
        sa.Column("author_email", sa.String(length=320), nullable=True),
        sa.Column("agent_id", sa.String(length=36), nullable=True),
        sa.Column("owner_user_id", sa.String(length=128), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["sandbox_issues.id"],
            name=op.f("fk_sandbox_comments_issue_id_sandbox_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_comments")),
        sa.UniqueConstraint(
            "issue_id", "external_id", name=op.f("uq_sandbox_comments_issue_id_external_id")
        ),
    )
    op.create_index(
        op.f("ix_sandbox_comments_issue_id_created_at"),
        "sandbox_comments",
        ["issue_id", "created_at"],
    )

    op.create_table(
        "sandbox_issue_assignees",
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["sandbox_issues.id"],
            name=op.f("fk_sandbox_issue_assignees_issue_id_sandbox_issues"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["sandbox_users.id"],
            name=op.f("fk_sandbox_issue_assignees_user_id_sandbox_users"),
        ),
        sa.PrimaryKeyConstraint("issue_id", "user_id", name=op.f("pk_sandbox_issue_assignees")),
    )
    op.create_index(
        op.f("ix_sandbox_issue_assignees_user_id"), "sandbox_issue_assignees", ["user_id"]
    )

    op.create_table(
        "sandbox_issue_labels",
        sa.Column("issue_id", sa.String(length=36), nullable=False),
        sa.Column("label_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["sandbox_issues.id"],
            name=op.f("fk_sandbox_issue_labels_issue_id_sandbox_issues"),
        ),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["sandbox_labels.id"],
            name=op.f("fk_sandbox_issue_labels_label_id_sandbox_labels"),
        ),
        sa.PrimaryKeyConstraint("issue_id", "label_id", name=op.f("pk_sandbox_issue_labels")),
    )
    op.create_index(op.f("ix_sandbox_issue_labels_label_id"), "sandbox_issue_labels", ["label_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_issue_labels_label_id"), table_name="sandbox_issue_labels")

    op.drop_table("sandbox_issue_labels")
    op.drop_index(op.f("ix_sandbox_issue_assignees_user_id"), table_name="sandbox_issue_assignees")

    op.drop_table("sandbox_issue_assignees")
    op.drop_index(op.f("ix_sandbox_comments_issue_id_created_at"), table_name="sandbox_comments")

    op.drop_table("sandbox_comments")
    op.drop_index(op.f("ix_sandbox_issues_project_id_created_at"), table_name="sandbox_issues")

    op.drop_table("sandbox_issues")
    op.drop_table("sandbox_states")
    op.drop_table("sandbox_project_members")
    op.drop_table("sandbox_labels")
    op.drop_table("grant_versions")
    op.drop_table("sandbox_workspace_members")
    op.drop_table("sandbox_projects")
    op.drop_index(op.f("ix_pairing_codes_expires_at"), table_name="pairing_codes")
    op.drop_index(op.f("ix_pairing_codes_agent_id"), table_name="pairing_codes")

    op.drop_table("pairing_codes")
    op.drop_index(op.f("ix_grants_agent_id"), table_name="grants")

    op.drop_table("grants")
    op.drop_index(op.f("ix_agent_tokens_agent_id"), table_name="agent_tokens")

    op.drop_table("agent_tokens")
    op.drop_table("sandbox_workspaces")
    op.drop_table("sandbox_users")
    op.drop_table("rate_limits")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")

    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_audit_events_chain_id_created_at"), table_name="audit_events")

    op.drop_table("audit_events")
    op.drop_table("audit_chain_heads")
    op.drop_index(op.f("ix_agents_owner_user_id_id"), table_name="agents")

    op.drop_table("agents")
