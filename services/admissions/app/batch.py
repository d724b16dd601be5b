"""Consumed ADT events and roster snapshots → member state, the read model and derived events:
the working set of one batch (one unit of work, one transaction).

``AdmissionsBatch.starter(env)`` is the ``begin(uow, events)`` the worker gives the routes table
(``routes.py``): it loads the crosswalk rows, roster snapshots, merged keys and patient states
the batch needs in a few queries (states locked on PostgreSQL, so two worker processes never
interleave on one member). The handlers (``handlers.py``, one per (topic, event type)) then take
the events in order, applying them in memory with the pure domain. ``finish()`` writes states,
merged keys, rosters and crosswalk, encounters, census and alerts through the unit of work in
bulk, counts the metrics once the transaction committed (``UnitOfWork.after_commit``: a batch
rolled back and retried is counted once) and returns the derived events — alerts for
``alerts.hospitalist``, transitions and readmissions for ``care.transitions`` — which the
consumer pipeline writes to Kafka, confirmed, before it commits.

Routing of an ADT event: PID-3 → member through the crosswalk; a key an A40 merged away →
the record it was merged into (the key's events may arrive after the A40, from another
partition); unmatched → the record ``patient:<authority>|<mrn>`` (kept, counted; adopted by the
member when a roster snapshot lists that identifier).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone, tzinfo

from shared.events import AdtEventV2, AlertRaisedV1, CareTransitionV1, Event, MemberRosterV1, ReadmissionV1

from .. import metrics
from ..domain.matching import match_member
from ..domain.patient_state import UNMATCHED_PREFIX, PatientState
from ..domain.reconcile import Env, Outcome
from .ports import Pair, UnitOfWork
from .projections import ReadModel


def pairs_of(event: AdtEventV2) -> list[Pair]:
    return [(p.assigning_authority, p.id) for p in (*event.patient_ids, *event.prior_patient_ids)
            if p.assigning_authority]


def unmatched_owner(patient_key: str) -> str:
    return UNMATCHED_PREFIX + patient_key


class AdmissionsBatch:
    """One batch of consumed events over one unit of work."""

    def __init__(self, uow: UnitOfWork, env: Env, now: datetime, *, full_parse_tz: tzinfo | None = None) -> None:
        self.uow, self.env, self.now = uow, env, now
        self.full_parse_tz = full_parse_tz  # set: re-read raw HL7 with python-hl7 and count disagreements
        self.xwalk: dict[Pair, str | None] = {}
        self.rosters: dict[str, MemberRosterV1 | None] = {}
        self.states: dict[str, PatientState | None] = {}
        self.versions: dict[str, int] = {}
        self.merged: dict[str, str | None] = {}  # patient key → owner it was merged into (None: not merged)
        self.merged_new: dict[str, str] = {}
        self.read_model = ReadModel(env.rules, now)
        self.out: list[Event] = []
        self.duplicates = 0
        self.alert_latencies: list[float] = []
        self.full_parse_mismatches = 0

    @classmethod
    def starter(cls, env: Env, *, full_parse_tz: tzinfo | None = None,
                clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
                ) -> Callable[[UnitOfWork, Sequence[Event]], AdmissionsBatch]:
        """``begin(uow, events)`` for the routes table, with the configuration bound."""

        def begin(uow: UnitOfWork, events: Sequence[Event]) -> AdmissionsBatch:
            batch = cls(uow, env, clock(), full_parse_tz=full_parse_tz)
            batch.prefetch(events)
            return batch

        return begin

    # ------------------------------------------------------------------ loading
    def prefetch(self, events: Sequence[Event]) -> None:
        """What the batch needs, in a few queries: crosswalk (with the matched members' rosters),
        merged keys, the roster events' members, then every owner's state."""
        adts = [e for e in events if isinstance(e, AdtEventV2)]
        rosters = [e for e in events if isinstance(e, MemberRosterV1)]
        self._load_pairs(p for e in adts for p in pairs_of(e))
        self._load_merged(e.patient_key or e.patient_ids[0].key() for e in adts if e.patient_key or e.patient_ids)
        self._load_rosters({e.member_id for e in rosters})
        owners: set[str] = set()
        for e in events:
            if isinstance(e, MemberRosterV1):
                owners.add(e.member_id)
                owners.update(unmatched_owner(f"{x.assigning_authority}|{x.mrn}") for x in e.mrns)
            elif isinstance(e, AdtEventV2):
                owners.add(self.owner_for(e)[0])
        self._load_states(owners)

    def _load_pairs(self, pairs: Iterable[Pair]) -> None:
        missing = [p for p in dict.fromkeys(pairs) if p not in self.xwalk]
        if missing:
            found = self.uow.crosswalk.members_of(missing)
            for p in missing:
                member, roster = found.get(p, (None, None))
                self.xwalk[p] = member
                if member is not None and member not in self.rosters:
                    self.rosters[member] = roster

    def _load_merged(self, keys: Iterable[str]) -> None:
        missing = [k for k in dict.fromkeys(keys) if k not in self.merged]
        if missing:
            found = self.uow.crosswalk.merged_into(missing)
            for k in missing:
                self.merged[k] = found.get(k)

    def _load_rosters(self, member_ids: Iterable[str]) -> None:
        missing = [m for m in dict.fromkeys(member_ids) if m not in self.rosters]
        if missing:
            found = self.uow.crosswalk.rosters(missing)
            for m in missing:
                self.rosters[m] = found.get(m)

    def _load_states(self, owners: Iterable[str]) -> None:
        missing = [o for o in dict.fromkeys(owners) if o not in self.states]
        if missing:
            found = self.uow.states.load(missing)
            for o in missing:
                if o in found:
                    state, version = found[o]
                    self.states[o] = state
                    self.versions[o] = version
                    self.read_model.loaded(state)
                else:
                    self.states[o] = None

    # ------------------------------------------------------------------ for the handlers
    def roster_of(self, member_id: str | None) -> MemberRosterV1 | None:
        if member_id is None:
            return None
        self._load_rosters([member_id])
        return self.rosters[member_id]

    def state_of(self, owner: str) -> PatientState | None:
        self._load_states([owner])
        return self.states[owner]

    def owner_for(self, event: AdtEventV2) -> tuple[str, str | None]:
        """(the record the event belongs to, the member it is, if matched)."""
        pairs = pairs_of(event)
        self._load_pairs(pairs)
        known = {p: m for p in pairs if (m := self.xwalk.get(p))}
        member = match_member(event.patient_ids, known).member_id
        if member is not None:
            return member, member
        key = event.patient_key or event.patient_ids[0].key()
        self._load_merged([key])
        into = self.merged.get(key)
        if into is not None:
            return into, (None if into.startswith(UNMATCHED_PREFIX) else into)
        return unmatched_owner(key), None

    def owner_of_key(self, patient_key: str) -> str:
        """The record a patient key (``<authority>|<mrn>``) belongs to now."""
        authority, _, mrn = patient_key.partition("|")
        if authority:
            self._load_pairs([(authority, mrn)])
            member = self.xwalk.get((authority, mrn))
            if member:
                return member
        return unmatched_owner(patient_key)

    def list_roster(self, r: MemberRosterV1) -> None:
        """A member's latest snapshot: its MRNs now lead to it (and no longer to it when dropped)."""
        member = r.member_id
        old = self.roster_of(member)
        for x in old.mrns if old else ():
            if self.xwalk.get((x.assigning_authority, x.mrn)) == member:
                self.xwalk[(x.assigning_authority, x.mrn)] = None
        for x in r.mrns:
            self.xwalk[(x.assigning_authority, x.mrn)] = member
        self.rosters[member] = r
        self.read_model.roster(r)

    def merge_key(self, patient_key: str, owner: str) -> None:
        """An A40 merged ``patient_key`` into ``owner``: the key's later events join it."""
        self.merged[patient_key] = self.merged_new[patient_key] = owner

    def put(self, outcome: Outcome) -> None:
        """A state the domain changed: kept for the write, its events for publishing."""
        state = outcome.state
        self.states[state.owner] = state
        self.read_model.state_changed(state, outcome.encounters, self.roster_of(state.member_id))
        self.out.extend(outcome.events)

    def time_alerts(self, cause: AdtEventV2, events: Sequence[Event]) -> None:
        """Received-at-the-gateway to alert-written, for the alerts this message raised."""
        wall = time.time()
        for ev in events:
            if isinstance(ev, AlertRaisedV1) and ev.causation_id == cause.event_id and ev.received_at is not None:
                self.alert_latencies.append(max(0.0, wall - ev.received_at.timestamp()))

    # ------------------------------------------------------------------ end of the batch
    def finish(self) -> list[Event]:
        new: list[PatientState] = []
        changed: list[tuple[PatientState, int]] = []
        gone: list[str] = []
        for owner in self.read_model.touched:
            state = self.states[owner]
            assert state is not None
            if state.owner.startswith(UNMATCHED_PREFIX) and not state.facts:
                if owner in self.versions:
                    gone.append(owner)
                continue
            if owner in self.versions:
                changed.append((state, self.versions[owner] + 1))
            else:
                new.append(state)
        self.uow.states.save(new, changed, gone, self.now)
        if self.merged_new:
            self.uow.crosswalk.save_merged(self.merged_new, self.now)
        self.read_model.flush(self.uow, self.out)
        self._count_after_commit()
        return self.out

    def _count_after_commit(self) -> None:
        alerts: list[str] = []
        transitions = readmissions = 0
        for ev in self.out:
            if isinstance(ev, AlertRaisedV1):
                alerts.append(ev.kind)
            elif isinstance(ev, CareTransitionV1):
                transitions += 1
            elif isinstance(ev, ReadmissionV1) and not ev.retracted:
                readmissions += 1
        latencies = list(self.alert_latencies)
        mismatches = self.full_parse_mismatches
        if not (alerts or transitions or readmissions or latencies or mismatches):
            return

        def count() -> None:
            for kind in alerts:
                metrics.ALERTS.labels(kind).inc()
            if transitions:
                metrics.TRANSITIONS.inc(transitions)
            if readmissions:
                metrics.READMISSIONS.inc(readmissions)
            for seconds in latencies:
                metrics.ADMIT_TO_ALERT.observe(seconds)
            if mismatches:
                metrics.FULL_PARSE_MISMATCHES.inc(mismatches)

        self.uow.after_commit(count)
