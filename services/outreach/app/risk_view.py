"""The member's risk view on the nurse's task page (issue 15: "a member's risk view lists the HCCs
with the diagnoses and claims that gave them, the coefficients, the utilization factors, and the
tier rule ... on the nurse's task page").

The risk service owns the explanation: it assesses the member on request from the facts only it
holds, so the page asks it (``RiskViews``: its API through ``adapters/risk_api.py``, which caches
answers briefly and stops asking for a while when it does not answer). Only after the task read
authorized the nurse (her pods; another pod's task is not found) is the risk service asked, on her
behalf. When it does not answer the page still renders: with its last answer if recent, else with
what the worker stored from ``risk.tiers`` (the latest tier change and what drove it), labelled as
such. Every view shown is audited here, under the nurse, with where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .actors import Actor
from .ports import RiskViews, UnitOfWorkFactory
from .queries import TaskDetail

SHOWN = {"live", "cached", "stale", "last_change"}


@dataclass(frozen=True)
class RiskPanel:
    """What the task page shows: ``source`` is ``live``, ``cached`` or ``stale`` (``view`` is the
    risk service's explanation), ``last_change`` (``last_change`` is the latest tier change from
    risk.tiers), ``none`` (the risk service did not answer and no change is on file),
    ``not_found`` or ``not_connected``."""

    source: str
    view: dict[str, Any] | None = None
    fetched_at: datetime | None = None
    last_change: dict[str, Any] | None = None
    problem: str | None = None


class MemberRisk:
    def __init__(self, uow: UnitOfWorkFactory, views: RiskViews) -> None:
        self.uow = uow
        self.views = views

    def for_task(self, actor: Actor, detail: TaskDetail, endpoint: str) -> RiskPanel:
        """The risk view of the task's member. ``detail`` is the task as ``Queries.task_detail``
        gave it to this actor, i.e. after her right to the task (and its member) was checked."""
        member_id = detail.task.member_id
        found = self.views.view(member_id, actor.user_id)  # outside any transaction: a remote call
        panel = RiskPanel(found.source, found.view, found.fetched_at, problem=found.problem)
        with self.uow() as uow:
            if found.source == "unavailable":
                change = uow.members.risk_change(member_id)
                panel = RiskPanel("last_change" if change else "none", None, None, change, found.problem)
            if panel.source in SHOWN:
                uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=[member_id], action="read",
                                 endpoint=endpoint, detail=f"risk view ({panel.source}) on task {detail.task.task_id}")
            uow.commit()
        return panel
