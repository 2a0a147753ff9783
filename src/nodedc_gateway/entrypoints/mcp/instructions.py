"""What an agent reads first about the gateway (the server's `instructions`)."""

from __future__ import annotations

#: The first paragraph stands alone and stays within 512 characters: Codex shows it first.
SUMMARY = (
    "NODE.DC Agent Gateway keeps Tasker cards up to date within what your owner granted. "
    "Address work by workspace slug, project (UUID or identifier like DEMO) and issue "
    "(UUID or key like DEMO-12); start with whoami and list_projects. Pass a fresh "
    "idempotency_key on every write so a retry never duplicates. If a call fails with "
    "scope_missing, ask a human with request_access (scopes + justification). Deleting, "
    "archiving, inviting and settings are for humans in Tasker."
)

DETAILS = """
How to work:
- whoami shows your grants (workspace, project, scopes, mode) and rate limits;
  list_projects and get_project show the states, labels and members you can use by name.
- States, labels and users can be given by id or by name/email; an unknown one is refused
  with the valid choices listed.
- Reuse an idempotency_key only to retry the same call: the gateway replays the first
  result (replayed: true); the same key with other arguments is idempotency_key_reused.
- Errors come back as {"error": {"code", "message", ...}}; the message says how to fix the
  call. rate_limited carries retry_after_s.
- Cards: get_issue returns the card (goal, context, plan, acceptance, implementation_notes,
  risks, links, and checkers with stable ids). update_card writes blocks from Markdown;
  implementation_notes only ever grows. update_checkers ticks, unticks or adds checkers.
  Text outside the blocks is never touched. The project's card rules are in get_project.
- Reporting mode (a grant's mode): start_work_session on the card you work on, then
  report_progress as you go, then finish_work_session with done, blocked or handoff.
- Everything you do is recorded in an audit log under your agent and your owner.
"""

INSTRUCTIONS = SUMMARY + "\n" + DETAILS
