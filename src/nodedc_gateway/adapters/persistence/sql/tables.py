"""The gateway database: SQLAlchemy Core tables, one `MetaData`, owned by Alembic.

Domain classes are never mapped onto these tables; `mapping` converts rows explicitly.
The sandbox Tasker's tables (`sandbox_*`) live in the same database and history.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nodedc_gateway.adapters.persistence.sql.types import UtcDateTime

#: Constraint and index names are derived, so every migration names them the same way on
#: both databases (and autogenerate can compare them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 36  # a UUID string
USER_ID = 128
EMAIL = 320
NAME = 255
HASH = 128
CODE = 32

# --- agents, tokens, pairing codes ------------------------------------------------------

agents = Table(
    "agents",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("owner_user_id", String(USER_ID), nullable=False),
    Column("owner_email", String(EMAIL), nullable=False),
    Column("display_name", String(NAME), nullable=False),
    Column("avatar_url", Text, nullable=True),
    Column("status", String(CODE), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "owner_user_id", "id"),  # an owner's agents, in id (creation) order
)

agent_tokens = Table(
    "agent_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False, index=True),
    Column("name", String(NAME), nullable=False),
    Column("token_hash", String(HASH), nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("token_hash"),  # every authenticated call looks a token up by it
)

pairing_codes = Table(
    "pairing_codes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False, index=True),
    Column("code_hash", String(HASH), nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    UniqueConstraint("code_hash"),
)

# --- MCP authorization (OAuth 2.1): clients, codes, refresh token families -------------

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(512), primary_key=True),  # a UUID, or a metadata URL
    Column("client_name", String(NAME), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("document", JSON, nullable=False),
    Column("source", String(CODE), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("code_hash", String(HASH), nullable=False),
    Column("client_id", String(512), nullable=False),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False, index=True),
    Column("redirect_uri", Text, nullable=False),
    Column("redirect_uri_explicit", Boolean, nullable=False),
    Column("code_challenge", String(HASH), nullable=False),
    Column("resource", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("family_id", String(ID), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    UniqueConstraint("code_hash"),
)

oauth_refresh_tokens = Table(
    "oauth_refresh_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("token_hash", String(HASH), nullable=False),
    Column("family_id", String(ID), nullable=False, index=True),
    Column("client_id", String(512), nullable=False),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False, index=True),
    Column("access_token_id", String(ID), nullable=False, index=True),
    Column("resource", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),  # the purge (0005)
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("token_hash"),
)

# --- grants and their history -----------------------------------------------------------

grants = Table(
    "grants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False, index=True),
    Column("workspace_slug", String(NAME), nullable=False),
    Column("project_id", String(ID), nullable=False),  # "" for a workspace-level grant
    Column("scopes", JSON, nullable=False),  # sorted list of scope strings
    Column("mode", String(CODE), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("created_by_user_id", String(USER_ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "workspace_slug"),  # the reporting view reads a workspace's grants
)

grant_versions = Table(
    "grant_versions",
    metadata,
    Column("grant_id", String(ID), ForeignKey("grants.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("agent_id", String(ID), nullable=False),
    Column("workspace_slug", String(NAME), nullable=False),
    Column("project_id", String(ID), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("mode", String(CODE), nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("change", String(CODE), nullable=False),
    Column("changed_by_user_id", String(USER_ID), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=True),
    PrimaryKeyConstraint("grant_id", "version"),
)

# --- idempotency ------------------------------------------------------------------------

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(USER_ID + CODE), nullable=False),
    Column("key", String(NAME), nullable=False),
    Column("fingerprint", String(HASH), nullable=False),
    Column("operation", String(NAME), nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("response_ok", Boolean, nullable=True),
    Column("response_body", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),  # the purge
    Column("locked_until", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("scope", "key"),
)

# --- audit ------------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    # The chain is the agent's id (or "system"), so (chain_id, seq) also serves an agent's
    # newest-first reads; no separate agent_id index is needed.
    Column("chain_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("agent_id", String(ID), nullable=True),
    Column("owner_user_id", String(USER_ID), nullable=True),
    Column("actor_user_id", String(USER_ID), nullable=True),
    Column("event_type", String(NAME), nullable=False),
    Column("operation", String(NAME), nullable=False),
    Column("decision", String(CODE), nullable=False),
    Column("reason", String(CODE), nullable=True),
    Column("target", JSON, nullable=False),
    Column("grant_versions", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("prev_hash", String(HASH), nullable=False),
    Column("hash", String(HASH), nullable=False),
    UniqueConstraint("chain_id", "seq"),
    Index(None, "chain_id", "created_at"),  # an agent's events in a time range
)

audit_chain_heads = Table(
    "audit_chain_heads",
    metadata,
    Column("chain_id", String(ID), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("last_hash", String(HASH), nullable=False),
)

# --- rate limits ------------------------------------------------------------------------

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(NAME), primary_key=True),
    Column("tat_us", BigInteger, nullable=False),  # GCRA theoretical arrival time, µs
    # Whether the last check was admitted: the one upsert computes it from the old row,
    # so RETURNING can tell an admitted check from a refused one.
    Column("admitted", Boolean, nullable=False),
)

# --- access requests, work sessions, project policies ------------------------------------

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False),
    Column("owner_user_id", String(USER_ID), nullable=False),
    Column("workspace_slug", String(NAME), nullable=False),
    Column("project_ref", String(NAME), nullable=False),  # the project id; "" for the workspace
    Column("scopes", JSON, nullable=False),
    Column("justification", Text, nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_by_user_id", String(USER_ID), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_note", Text, nullable=True),
    Column("approved_scopes", JSON, nullable=True),
    Column("suggested_scopes", JSON, nullable=True),
    Index(None, "agent_id", "id"),
    Index(None, "owner_user_id", "id"),
)

work_sessions = Table(
    "work_sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("agent_id", String(ID), ForeignKey("agents.id"), nullable=False),
    Column("owner_user_id", String(USER_ID), nullable=False),
    Column("workspace_slug", String(NAME), nullable=False),
    Column("project_id", String(ID), nullable=False),
    Column("issue_id", String(ID), nullable=False),
    Column("issue_identifier", String(CODE), nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(CODE), nullable=False),
    Column("outcome", String(CODE), nullable=True),
    Column("finish_summary", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_report_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("reports", Integer, nullable=False),
    Index(None, "workspace_slug", "status", "id"),
)

project_policies = Table(
    "project_policies",
    metadata,
    Column("workspace_slug", String(NAME), nullable=False),
    Column("project_id", String(ID), nullable=False),
    Column("card_rules", JSON, nullable=False),
    Column("stale_after_s", Integer, nullable=False),
    PrimaryKeyConstraint("workspace_slug", "project_id"),
)


# --- the sandbox Tasker -----------------------------------------------------------------

sandbox_workspaces = Table(
    "sandbox_workspaces",
    metadata,
    Column("slug", String(NAME), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("agents_allowed", Boolean, nullable=False),
)

sandbox_users = Table(
    "sandbox_users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("email", String(EMAIL), nullable=False),
    Column("display_name", String(NAME), nullable=False),
    UniqueConstraint("email"),  # a user is the same person in every workspace
)

sandbox_workspace_members = Table(
    "sandbox_workspace_members",
    metadata,
    Column("workspace_slug", String(NAME), ForeignKey("sandbox_workspaces.slug"), nullable=False),
    Column("user_id", String(ID), ForeignKey("sandbox_users.id"), nullable=False),
    PrimaryKeyConstraint("workspace_slug", "user_id"),
)

sandbox_projects = Table(
    "sandbox_projects",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("workspace_slug", String(NAME), ForeignKey("sandbox_workspaces.slug"), nullable=False),
    Column("identifier", String(CODE), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("next_sequence", Integer, nullable=False),  # taken atomically by each create
    UniqueConstraint("workspace_slug", "identifier"),
)

sandbox_states = Table(
    "sandbox_states",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), ForeignKey("sandbox_projects.id"), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("state_group", String(CODE), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("project_id", "name"),
)

sandbox_labels = Table(
    "sandbox_labels",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), ForeignKey("sandbox_projects.id"), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("project_id", "name"),
)

sandbox_project_members = Table(
    "sandbox_project_members",
    metadata,
    Column("project_id", String(ID), ForeignKey("sandbox_projects.id"), nullable=False),
    Column("user_id", String(ID), ForeignKey("sandbox_users.id"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("project_id", "user_id"),
)

sandbox_issues = Table(
    "sandbox_issues",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), ForeignKey("sandbox_projects.id"), nullable=False),
    Column("sequence_id", Integer, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("name_folded", Text, nullable=False),  # casefolded name, for text search
    Column("description_html", Text, nullable=False),
    Column("priority", String(CODE), nullable=False),
    Column("state_id", String(ID), ForeignKey("sandbox_states.id"), nullable=False),
    Column("parent_id", String(ID), ForeignKey("sandbox_issues.id"), nullable=True),
    Column("start_date", Date, nullable=True),
    Column("target_date", Date, nullable=True),
    Column("external_id", String(NAME), nullable=True),
    Column("created_by_agent_id", String(ID), nullable=True),
    Column("created_by_owner_user_id", String(USER_ID), nullable=True),
    Column("updated_by_agent_id", String(ID), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("project_id", "sequence_id"),
    UniqueConstraint("project_id", "external_id"),  # a keyed create is made once
    Index(None, "project_id", "created_at"),  # search, newest first
)

sandbox_issue_labels = Table(
    "sandbox_issue_labels",
    metadata,
    Column("issue_id", String(ID), ForeignKey("sandbox_issues.id"), nullable=False),
    Column("label_id", String(ID), ForeignKey("sandbox_labels.id"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("issue_id", "label_id"),
    Index(None, "label_id"),
)

sandbox_issue_assignees = Table(
    "sandbox_issue_assignees",
    metadata,
    Column("issue_id", String(ID), ForeignKey("sandbox_issues.id"), nullable=False),
    Column("user_id", String(ID), ForeignKey("sandbox_users.id"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("issue_id", "user_id"),
    Index(None, "user_id"),
)

sandbox_comments = Table(
    "sandbox_comments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("issue_id", String(ID), ForeignKey("sandbox_issues.id"), nullable=False),
    Column("body_html", Text, nullable=False),
    Column("author_display_name", String(NAME), nullable=False),
    Column("author_email", String(EMAIL), nullable=True),
    Column("agent_id", String(ID), nullable=True),
    Column("owner_user_id", String(USER_ID), nullable=True),
    Column("external_id", String(NAME), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("issue_id", "external_id"),  # a keyed comment is added once
    Index(None, "issue_id", "created_at"),
)

# --- owner console (CONTRACT §13): one-time links and sessions, HMACs only -------------

console_links = Table(
    "console_links",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("code_hash", String(HASH), nullable=False, unique=True),
    Column("owner_user_id", String(USER_ID), nullable=False),
    Column("actor_user_id", String(USER_ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("used_at", UtcDateTime, nullable=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("token_hash", String(HASH), nullable=False, unique=True),
    Column("owner_user_id", String(USER_ID), nullable=False),
    Column("actor_user_id", String(USER_ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime, nullable=True),
)
