"""The worker's handler: a batch of ADT events and roster snapshots in → member state,
projections and derived events out, in the caller's ONE transaction (``shared.consumer``).

Per batch: the crosswalk rows, roster snapshots and patient states the batch needs are loaded
in a few queries (states locked ``FOR UPDATE`` on PostgreSQL, so two worker processes never
interleave on one member); events are applied in order in memory with the pure domain
(``apply_adt``, ``apply_roster``, ``adopt_unmatched``, ``merge_patient``); then states,
crosswalk, encounters, census and alerts are written with bulk statements
(``projections.BatchWriter``). The derived events are returned: ``BatchConsumer`` writes them to
Kafka and waits for the broker before it commits.

Routing of an ADT event: PID-3 → member through the crosswalk; a key an A40 merged away →
the record it was merged into (``merged_patients``: the key's events may arrive after the A40,
from another partition); unmatched → the record ``patient:<authority>|<mrn>`` (kept, counted;
adopted by the member when a roster snapshot lists that identifier). A40: the MRG-1
identifiers' record merges into the survivor's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from shared.errors import InvalidEvent
from shared.events import AdtEventV2, AlertRaisedV1, Event, MemberRosterV1

from . import metrics, store
from .domain.matching import match_member
from .domain.merges import adopt_unmatched, merge_patient
from .domain.patient_state import UNMATCHED_PREFIX, PatientState, state_from_dict, state_to_dict
from .domain.reconcile import Env, Outcome, apply_adt, apply_roster
from .projections import BatchWriter

Pair = tuple[str, str]


def _pairs(event: AdtEventV2) -> list[Pair]:
    return [(p.assigning_authority, p.id) for p in (*event.patient_ids, *event.prior_patient_ids)
            if p.assigning_authority]


def unmatched_owner(patient_key: str) -> str:
    return UNMATCHED_PREFIX + patient_key


class _Batch:
    def __init__(self, session: Session, env: Env, now: datetime) -> None:
        self.session, self.env, self.now = session, env, now
        self.xwalk: dict[Pair, str | None] = {}
        self.rosters: dict[str, MemberRosterV1 | None] = {}
        self.states: dict[str, PatientState | None] = {}
        self.versions: dict[str, int] = {}
        self.merged: dict[str, str | None] = {}  # patient key → owner it was merged into (None: not merged)
        self.merged_new: dict[str, str] = {}
        self.writer = BatchWriter(env.rules, now)
        self.out: list[Event] = []
        self.duplicates = 0
        self.alert_latencies: list[float] = []

    # ------------------------------------------------------------------ loading
    def prefetch(self, events: Sequence[Event]) -> None:
        pairs = [p for e in events if isinstance(e, AdtEventV2) for p in _pairs(e)]
        self._load_pairs(pairs)  # with the matched members' rosters
        self._load_merged(e.patient_key or e.patient_ids[0].key() for e in events
                          if isinstance(e, AdtEventV2) and (e.patient_key or e.patient_ids))
        self._load_rosters({e.member_id for e in events if isinstance(e, MemberRosterV1)})
        owners: set[str] = set()
        for e in events:
            if isinstance(e, MemberRosterV1):
                owners.add(e.member_id)
                owners.update(unmatched_owner(f"{x.assigning_authority}|{x.mrn}") for x in e.mrns)
            elif isinstance(e, AdtEventV2):
                owners.add(self._owner_for(e)[0])
        self._load_states(owners)

    def _load_pairs(self, pairs: Iterable[Pair]) -> None:
        missing = [p for p in dict.fromkeys(pairs) if p not in self.xwalk]
        if missing:
            found = store.load_crosswalk_with_rosters(self.session, missing)
            for p in missing:
                member, roster = found.get(p, (None, None))
                self.xwalk[p] = member
                if member is not None and member not in self.rosters:
                    self.rosters[member] = MemberRosterV1.model_validate_json(roster) if roster else None

    def _load_merged(self, keys: Iterable[str]) -> None:
        missing = [k for k in dict.fromkeys(keys) if k not in self.merged]
        if missing:
            found = store.load_merged(self.session, missing)
            for k in missing:
                self.merged[k] = found.get(k)

    def _load_rosters(self, member_ids: Iterable[str]) -> None:
        missing = [m for m in dict.fromkeys(member_ids) if m not in self.rosters]
        if missing:
            found = store.load_rosters(self.session, missing)
            for m in missing:
                text = found.get(m)
                self.rosters[m] = MemberRosterV1.model_validate_json(text) if text else None

    def _load_states(self, owners: Iterable[str]) -> None:
        missing = [o for o in dict.fromkeys(owners) if o not in self.states]
        if missing:
            found = store.load_states(self.session, missing)
            for o in missing:
                if o in found:
                    text, version = found[o]
                    self.states[o] = state_from_dict(json.loads(text))
                    self.versions[o] = version
                    self.writer.loaded(self.states[o])
                else:
                    self.states[o] = None

    def roster_of(self, member_id: str | None) -> MemberRosterV1 | None:
        if member_id is None:
            return None
        self._load_rosters([member_id])
        return self.rosters[member_id]

    def state_of(self, owner: str) -> PatientState | None:
        self._load_states([owner])
        return self.states[owner]

    def _owner_for(self, event: AdtEventV2) -> tuple[str, str | None]:
        self._load_pairs(_pairs(event))
        known = {p: m for p in _pairs(event) if (m := self.xwalk.get(p))}
        member = match_member(event.patient_ids, known).member_id
        if member is not None:
            return member, member
        key = event.patient_key or event.patient_ids[0].key()
        self._load_merged([key])
        into = self.merged.get(key)
        if into is not None:
            return into, (None if into.startswith(UNMATCHED_PREFIX) else into)
        return unmatched_owner(key), None

    def _owner_of_key(self, patient_key: str) -> str:
        authority, _, mrn = patient_key.partition("|")
        if authority:
            self._load_pairs([(authority, mrn)])
            member = self.xwalk.get((authority, mrn))
            if member:
                return member
        return unmatched_owner(patient_key)

    # ------------------------------------------------------------------ applying
    def put(self, outcome: Outcome) -> None:
        state = outcome.state
        self.states[state.owner] = state
        self.writer.state_changed(state, outcome.encounters, self.roster_of(state.member_id))
        self.out.extend(outcome.events)

    def roster(self, r: MemberRosterV1) -> None:
        member = r.member_id
        old = self.roster_of(member)
        for x in old.mrns if old else ():
            if self.xwalk.get((x.assigning_authority, x.mrn)) == member:
                self.xwalk[(x.assigning_authority, x.mrn)] = None
        for x in r.mrns:
            self.xwalk[(x.assigning_authority, x.mrn)] = member
        self.rosters[member] = r
        self.writer.roster(r)
        state = self.state_of(member) or PatientState.for_member(member)
        out = apply_roster(state, r, now=self.now, env=self.env)
        if out.duplicate:
            self.duplicates += 1
            return
        self.put(out)
        for x in r.mrns:
            source = self.state_of(unmatched_owner(f"{x.assigning_authority}|{x.mrn}"))
            if source is None or not source.facts:
                continue
            src, dst = adopt_unmatched(source, self.states[member], r, now=self.now, env=self.env)
            self.put(src)
            self.put(dst)

    def adt(self, e: AdtEventV2) -> None:
        owner, member = self._owner_for(e)
        state = self.state_of(owner) or (PatientState.for_member(member) if member
                                         else PatientState(owner=owner))
        roster = self.roster_of(member)
        out = apply_adt(state, e, roster=roster, now=self.now, env=self.env)
        if out.duplicate:
            self.duplicates += 1
            return
        self.put(out)
        wall = time.time()
        for ev in out.events:
            if isinstance(ev, AlertRaisedV1) and ev.causation_id == e.event_id and ev.received_at is not None:
                self.alert_latencies.append(max(0.0, wall - ev.received_at.timestamp()))
        for key in out.merge_from:
            self.merged[key] = self.merged_new[key] = owner  # its later events join the survivor
            prior_owner = self._owner_of_key(key)
            if prior_owner == owner:
                continue
            prior = self.state_of(prior_owner)
            if prior is None or not prior.facts:
                continue
            src, dst = merge_patient(prior, self.states[owner], e, prior_roster=self.roster_of(prior.member_id),
                                     survivor_roster=roster, now=self.now, env=self.env)
            self.put(src)
            self.put(dst)

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        new, changed, gone = [], [], []
        for owner in self.writer.touched:
            state = self.states[owner]
            assert state is not None
            if state.owner.startswith(UNMATCHED_PREFIX) and not state.facts:
                if owner in self.versions:
                    gone.append(owner)
                continue
            row = {"owner": owner, "member_id": state.member_id, "state": store.dumps(state_to_dict(state)),
                   "updated_at": self.now}
            if owner in self.versions:
                changed.append({**row, "version": self.versions[owner] + 1})
            else:
                new.append({**row, "version": 1})
        store.save_states(self.session, new, changed, gone)
        store.save_merged(self.session, [{"patient_key": k, "owner": o, "merged_at": self.now}
                                         for k, o in sorted(self.merged_new.items())])
        self.writer.flush(self.session, self.out)


class AdmissionsHandler:
    """``handler(session, events)`` for ``BatchConsumer``: ADT events and roster snapshots."""

    def __init__(self, env: Env, *, full_parse_tz=None, clock=lambda: datetime.now(timezone.utc)) -> None:
        self.env = env
        self.full_parse_tz = full_parse_tz  # set: re-read raw HL7 with python-hl7 and count disagreements
        self.clock = clock

    def __call__(self, session: Session, events: list[Event]) -> list[Event]:
        batch = _Batch(session, self.env, self.clock())
        batch.prefetch(events)
        for e in events:
            if isinstance(e, MemberRosterV1):
                batch.roster(e)
            elif isinstance(e, AdtEventV2):
                if self.full_parse_tz is not None:
                    _audit_full_parse(e, self.full_parse_tz)
                batch.adt(e)
            else:
                raise InvalidEvent(f"the admissions worker does not consume {e.event_type}")
        batch.flush()
        _count(batch)
        return batch.out


def _count(batch: _Batch) -> None:
    from shared.events import CareTransitionV1, ReadmissionV1

    for ev in batch.out:
        if isinstance(ev, AlertRaisedV1):
            metrics.ALERTS.labels(ev.kind).inc()
        elif isinstance(ev, CareTransitionV1):
            metrics.TRANSITIONS.inc()
        elif isinstance(ev, ReadmissionV1) and not ev.retracted:
            metrics.READMISSIONS.inc()
    for seconds in batch.alert_latencies:
        metrics.ADMIT_TO_ALERT.observe(seconds)


def _audit_full_parse(event: AdtEventV2, tz: Any) -> None:
    """Off the ACK path: python-hl7's full parse must agree with the light reader's event."""
    if not event.raw or event.hl7_version is None:
        return
    from .domain.hl7_errors import Hl7Error
    from .domain.hl7_full import extract_full

    try:
        fields, _ = extract_full(event.raw, tz)
    except Hl7Error:
        metrics.FULL_PARSE_MISMATCHES.inc()
        return
    ids = tuple((p["id"], p["assigning_authority"]) for p in fields.patient_ids)
    if (fields.trigger != event.trigger or fields.control_id != event.message_control_id
            or ids != tuple((p.id, p.assigning_authority) for p in event.patient_ids)
            or (fields.visit_number or None) != event.visit_number):
        metrics.FULL_PARSE_MISMATCHES.inc()
