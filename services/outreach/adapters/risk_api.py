"""The member's risk view from the risk service's API (the ``RiskViews`` port of ``app/ports.py``).

``RiskApi`` asks ``GET {RISK_API_URL}/members/{id}/risk`` with outreach's own account
(``RISK_API_KEY``, a user without a role that the risk API admits only on behalf of a named
care-team user: ``X-On-Behalf-Of: <the nurse>``), within ``RISK_VIEW_TIMEOUT_S``, and checks the
answer's shape before the page uses it. ``CachedRiskViews`` keeps each member's last answer for
``RISK_VIEW_FRESH_S`` (a nurse reloads the task page after every action); when the risk service
does not answer it serves that answer up to ``RISK_VIEW_STALE_S`` old, labelled, and does not ask
again for ``RISK_VIEW_RETRY_S`` (so a hung risk API costs one timeout, not one per page). The
cache is in this process's memory only, bounded, and keyed by member: the nurse's right to the
member is checked by the task read before it is consulted, and every view shown is audited by
the use case (``app/risk_view.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.events import utcnow

from .. import metrics
from ..app.ports import RiskLookup

log = logging.getLogger(__name__)

NO_ANSWER = "the risk service did not answer"
BAD_ANSWER = "the risk service's answer could not be read"
REFUSED = "the risk service refused the request (check RISK_API_KEY and its VIEW_SERVICES)"


# ---------------------------------------------------------------------- the answer's shape (what the page reads)
class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Diagnosis(_Answer):
    code: str
    claim_id: str | None = None
    service_date: str | None = None


class _Hcc(_Answer):
    hcc: str
    label: str
    coefficient: float
    diagnoses: list[_Diagnosis] = []


class _Term(_Answer):
    term: str
    coefficient: float


class _Window(_Answer):
    start: str = Field(alias="from")
    to: str


class _Score(_Answer):
    model: str
    payment_year: int
    segment: str
    segment_known: bool
    demographic_cell: str
    demographic_coefficient: float
    raw: float
    payment: float
    hccs: list[_Hcc] = []
    other_terms: list[_Term] = []
    window: _Window


class _Utilization(_Answer):
    signal: str
    label: str
    value: float | int | None = None


class _Tier(_Answer):
    computed: str
    in_force: str
    authority: str
    reasons: list[str] = []
    rule: str


class RiskViewAnswer(_Answer):
    member_id: str
    age: int | None = None
    score: _Score | None = None
    score_note: str | None = None
    utilization: list[_Utilization] = []
    tier: _Tier


@dataclass(frozen=True)
class Fetched:
    outcome: str  # ok | not_found | error
    view: dict[str, Any] | None = None
    problem: str | None = None


class RiskApi:
    def __init__(self, base_url: str, api_key: str, *, timeout_s: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), transport=transport,
                                   timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 0.5)),
                                   headers={"X-API-Key": api_key, "Accept": "application/json"})

    def fetch(self, member_id: str, on_behalf_of: str) -> Fetched:
        started = time.perf_counter()
        fetched = self._fetch(member_id, on_behalf_of)
        metrics.RISK_API_SECONDS.labels(fetched.outcome).observe(time.perf_counter() - started)
        return fetched

    def _fetch(self, member_id: str, on_behalf_of: str) -> Fetched:
        try:
            r = self.client.get(f"/members/{quote(member_id, safe='')}/risk", headers={"X-On-Behalf-Of": on_behalf_of})
        except httpx.HTTPError:
            return Fetched("error", problem=NO_ANSWER)
        if r.status_code == 404:
            return Fetched("not_found")
        if r.status_code in (401, 403):
            return Fetched("error", problem=REFUSED)
        if r.status_code != 200:
            return Fetched("error", problem=NO_ANSWER)
        try:
            answer = RiskViewAnswer.model_validate_json(r.content)
        except ValidationError:
            return Fetched("error", problem=BAD_ANSWER)
        if answer.member_id != member_id:
            return Fetched("error", problem=BAD_ANSWER)
        return Fetched("ok", answer.model_dump(by_alias=True))

    def close(self) -> None:
        self.client.close()


@dataclass
class _Entry:
    view: dict[str, Any]
    at: float            # monotonic, for the ages
    fetched_at: datetime  # wall clock, for the page


class CachedRiskViews:
    def __init__(self, fetch: Callable[[str, str], Fetched], *, fresh_s: float, stale_s: float, retry_s: float,
                 max_members: int = 2000, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.fetch = fetch
        self.fresh_s, self.stale_s, self.retry_s = fresh_s, stale_s, retry_s
        self.max_members = max_members
        self.clock, self.now = clock, now
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._quiet_until = float("-inf")
        self._problem: str | None = None
        self._lock = threading.Lock()

    def view(self, member_id: str, on_behalf_of: str) -> RiskLookup:
        found = self._view(member_id, on_behalf_of)
        metrics.RISK_VIEWS.labels(found.source).inc()
        return found

    def _view(self, member_id: str, on_behalf_of: str) -> RiskLookup:
        t = self.clock()
        with self._lock:
            entry = self._entries.get(member_id)
            if entry is not None and t - entry.at < self.fresh_s:
                self._entries.move_to_end(member_id)
                return RiskLookup("cached", entry.view, entry.fetched_at)
            if t < self._quiet_until:  # it failed a moment ago: do not make this page wait on it too
                return self._without_answer(entry, t, self._problem)
        fetched = self.fetch(member_id, on_behalf_of)
        t = self.clock()
        with self._lock:
            if fetched.outcome == "ok" and fetched.view is not None:
                entry = _Entry(fetched.view, t, self.now())
                self._entries[member_id] = entry
                self._entries.move_to_end(member_id)
                while len(self._entries) > self.max_members:
                    self._entries.popitem(last=False)
                self._quiet_until, self._problem = float("-inf"), None
                return RiskLookup("live", entry.view, entry.fetched_at)
            if fetched.outcome == "not_found":
                self._entries.pop(member_id, None)
                return RiskLookup("not_found")
            self._quiet_until, self._problem = t + self.retry_s, fetched.problem
            log.warning("member risk views: %s; task pages show the last answers or the last tier change, and "
                        "ask again in %gs", fetched.problem, self.retry_s)
            return self._without_answer(self._entries.get(member_id), t, fetched.problem)

    def _without_answer(self, entry: _Entry | None, t: float, problem: str | None) -> RiskLookup:
        if entry is not None and t - entry.at < self.stale_s:
            return RiskLookup("stale", entry.view, entry.fetched_at, problem)
        return RiskLookup("unavailable", problem=problem)


class NotConnected:
    """No ``RISK_API_URL``: the page shows the tier on file only."""

    def view(self, member_id: str, on_behalf_of: str) -> RiskLookup:
        metrics.RISK_VIEWS.labels("not_connected").inc()
        return RiskLookup("not_connected")
