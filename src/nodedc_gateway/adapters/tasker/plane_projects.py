"""Plane's workspaces, projects and project details as `plane` serves them to agents.

Only configured workspaces exist; a project is one agents can work in (`answers.usable`);
member lists leave out the gateway's own Plane user. Lists and details come from
`PlaneMemo` while young enough, and are fetched again when a card names a state, label or
member they do not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nodedc_gateway.adapters.tasker import plane_answers as answers
from nodedc_gateway.adapters.tasker.plane_api import PLANE_ROUTES, PlaneApi
from nodedc_gateway.adapters.tasker.plane_memo import PlaneMemo, unknown_ids
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.tasker import Project, ProjectDetails
from nodedc_gateway.domain.tasker_rules import no_project, no_workspace, tasker_id


class PlaneProjects:
    """Reads Plane's projects and their details through `api`, keeping them in `memo`;
    `workspaces` is `PlaneTasker`'s (slug to policy), read on every call."""

    def __init__(self, api: PlaneApi, memo: PlaneMemo, workspaces: Mapping[str, bool]) -> None:
        self._api = api
        self._memo = memo
        self._workspaces = workspaces
        self._me: str | None = None

    async def listed(self, workspace_slug: str) -> list[Project]:
        """The workspace's projects, at most `details_ttl_s` old."""
        self.policy(workspace_slug)
        cached = self._memo.projects(workspace_slug)
        if cached is not None:
            return cached
        return await self.fresh_projects(workspace_slug)

    async def find(self, workspace_slug: str, project_ref: str) -> Project:
        self.policy(workspace_slug)
        if validation.is_uuid(project_ref):
            cached = self._memo.details(workspace_slug, project_ref)
            if cached is not None:
                return cached.project
            return await self._project(workspace_slug, project_ref.lower())
        for project in await self.listed(workspace_slug):
            if project.identifier == project_ref:
                return project
        # Created or renamed in Plane since the list was read? Look again (not too often).
        if not self._memo.listed_lately(workspace_slug):
            for project in await self.fresh_projects(workspace_slug):
                if project.identifier == project_ref:
                    return project
        raise no_project(project_ref, workspace_slug)

    async def own_user_id(self, *, refresh: bool = False) -> str:
        """The Plane user whose API key the gateway holds: a technical account, which is
        left out of member lists so no agent assigns or adds it."""
        if self._me is None or refresh:
            me = answers.expect(await self._api.send(PLANE_ROUTES["me"].build(), repeatable=True))
            if not isinstance(me, dict) or not me.get("id"):
                raise answers.unexpected()
            self._me = str(me["id"])
        return self._me

    async def _people(self, raw_list: Any) -> list[dict[str, Any]]:
        """A plain-array member list, without the gateway's own Plane user."""
        if not isinstance(raw_list, list):
            raise answers.unexpected()
        me = await self.own_user_id()
        return [raw for raw in raw_list if isinstance(raw, dict) and str(raw.get("id")) != me]

    async def workspace_members(self, workspace_slug: str) -> list[dict[str, Any]]:
        self.policy(workspace_slug)
        return await self._people(
            await self._api.get_json("workspace_members", slug=workspace_slug)
        )

    async def fresh_projects(self, workspace_slug: str) -> list[Project]:
        projects = sorted(
            [
                answers.project_of(workspace_slug, raw)
                async for raw in self._api.paged("projects", slug=workspace_slug)
                if answers.usable(raw)
            ],
            key=lambda p: p.identifier,
        )
        self._memo.keep_projects(workspace_slug, projects)
        return list(projects)

    async def _project(self, workspace_slug: str, project_id: str) -> Project:
        self.policy(workspace_slug)
        pid = tasker_id(project_id, "project")
        raw = await self._api.get_json("project", slug=workspace_slug, project_id=pid)
        if not answers.usable(raw):
            raise no_project(project_id, workspace_slug)
        return answers.project_of(workspace_slug, raw)

    async def fresh_details(self, workspace_slug: str, project_id: str) -> ProjectDetails:
        project = await self._project(workspace_slug, project_id)
        params = {"slug": workspace_slug, "project_id": project.id}
        states = [raw async for raw in self._api.paged("states", **params)]
        labels = [raw async for raw in self._api.paged("labels", **params)]
        members = await self._people(await self._api.get_json("project_members", **params))
        states.sort(key=lambda raw: answers.as_float(raw.get("sequence")))
        details = ProjectDetails(
            project=project,
            states=tuple(answers.state_of(raw) for raw in states),
            labels=tuple(answers.label_of(raw) for raw in labels),
            members=tuple(answers.member_of(raw) for raw in members),
        )
        self._memo.keep_details(workspace_slug, details)
        return details

    async def details(self, workspace_slug: str, project_id: str) -> ProjectDetails:
        """Project details, at most `details_ttl_s` old (ids are what they resolve)."""
        self.policy(workspace_slug)
        cached = self._memo.details(workspace_slug, project_id)
        if cached is not None:
            return cached
        return await self.fresh_details(workspace_slug, project_id)

    async def knowing(
        self,
        details: ProjectDetails,
        *,
        states: Sequence[str] = (),
        labels: Sequence[str] = (),
        members: Sequence[str] = (),
        writing: bool = False,
    ) -> ProjectDetails:
        """`details`, refreshed once if they do not know one of these ids (a state, label
        or member added in Plane since they were fetched). A read does not refetch for an
        id that was unknown even to a fetch made since (until the details expire); a write
        always looks again, at most once per `MIN_REFRESH_S`."""
        unknown = unknown_ids(details, states=states, labels=labels, members=members, me=self._me)
        if not unknown:
            return details
        kept = self._memo.standing_in(details, unknown, writing=writing)
        if kept is not None:
            return kept
        project = details.project
        fresh = await self.fresh_details(project.workspace_slug, project.id)
        self._memo.still_unknown(fresh, unknown)
        return fresh

    def policy(self, workspace_slug: str) -> bool:
        """The workspace's policy; NotFound for a workspace the gateway is not set up for."""
        allowed = self._workspaces.get(workspace_slug)
        if allowed is None:
            raise no_workspace(workspace_slug)
        return allowed
