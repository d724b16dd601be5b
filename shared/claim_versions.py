"""Which version of a claim counts: the platform's one rule (pure; gaps and billing both use it).

A payer corrects a claim by sending another version of it: frequency ``7`` replaces and ``8``
voids the claim named by ``original_claim_id`` (X12 REF*F8), or the claim whose ``claim_id``
the correction reuses. Versions arrive in any order — a void listed before its original in
the same file, a replacement in an earlier file than the claim it replaces, a redelivery, an
old file re-sent — so the version that counts is decided from what the versions *say*,
never from when they reached us:

1. **Family.** Claim ids linked by a correction (``claim_id`` ↔ ``original_claim_id``,
   transitively) form one family. Its id is the claim id of its original (the smallest one
   when there are several); a family without an original is named by its smallest claim id.
2. **Held.** A family in which no original (frequency 1) has arrived is *held*: none of its
   versions counts, whatever it holds (a replacement waits for the claim it replaces; a void
   that never finds its original voids nothing and is reported). The day the original
   arrives the family is complete and the rule below applies to it.
3. **Order.** Within a family a version ranks by
   - its place in the correction chain: a claim id that names another comes after it
     (``depth``: 0 for a claim id that names none, else 1 + the deepest one it names), so a
     replacement of a replacement outranks the replacement it corrects;
   - then its frequency: original < replacement < void (a correction that reuses the claim id
     outranks the original; a void of a claim outranks a replacement of it);
   - then what the version says about when it was made: ``version_sequence`` (a sender's
     version number), ``adjudication_date`` (the payer's), ``received_date`` (the payer's),
     ``submitted_at`` (when the sender created it: the 837's BHT date and time) — each
     missing value ranks lowest;
   - then the claim id and the event id (a deterministic tie-break).
   The highest-ranked version is current; when it is a void the family contributes nothing.
4. **Same version twice.** Two events of the same version (same claim id, frequency,
   original and the four stamps above) under two event ids count once, as the smaller id.

The answer is a function of the *set* of versions: any arrival order, any interleaving
across files and partitions, any number of redeliveries give the same current versions.
The load time (an event's ``occurred_at`` for a CSV or JSON file without dates of its own)
is never read.

Objects only need ``event_id``, ``claim_id``, ``frequency_code`` and ``original_claim_id``,
plus the optional stamps (``version_sequence``, ``adjudication_date``, ``received_date``,
``submitted_at``; absent = unknown): ``shared.events.ClaimV1``/``ClaimV2`` and the services'
slim stored rows both work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

FREQUENCY_RANK = {"1": 0, "7": 1, "8": 2}
CORRECTIONS = ("7", "8")
_NO_DATE = date.min
_NO_TIME = datetime.min.replace(tzinfo=timezone.utc)


def stamp(c: Any) -> tuple:
    """What a version says about when it was made (compares later-is-greater; unknown lowest)."""
    seq = getattr(c, "version_sequence", None)
    return (
        -1 if seq is None else seq,
        getattr(c, "adjudication_date", None) or _NO_DATE,
        getattr(c, "received_date", None) or _NO_DATE,
        getattr(c, "submitted_at", None) or _NO_TIME,
    )


def identity(c: Any) -> tuple:
    """Two events with the same identity are the same version of the same claim."""
    return (c.claim_id, c.frequency_code, c.original_claim_id or "", stamp(c))


def names(c: Any) -> str | None:
    """The other claim id this version corrects, if it names one."""
    o = c.original_claim_id
    return o if o and c.frequency_code in CORRECTIONS and o != c.claim_id else None


def distinct_versions(claims: Iterable[Any]) -> tuple[list[Any], dict[str, list[str]]]:
    """(one object per version, kept event id → the other event ids of the same version).

    Per event id the first object is kept (an event id names one content); per identity the
    smallest event id."""
    if not isinstance(claims, (list, tuple)):
        claims = list(claims)
    if len(claims) <= 1:
        return list(claims), {}
    by_id: dict[Any, Any] = {}
    for c in claims:
        by_id.setdefault(c.event_id, c)
    if len({(c.claim_id, c.frequency_code, c.original_claim_id) for c in by_id.values()}) == len(by_id):
        return list(by_id.values()), {}  # the usual case: no two events can be the same version
    by_identity: dict[tuple, Any] = {}
    dupes: dict[str, list[str]] = {}
    for c in sorted(by_id.values(), key=lambda c: str(c.event_id)):
        eid = str(c.event_id)
        ident = identity(c)
        kept = by_identity.get(ident)
        if kept is None:
            by_identity[ident] = c
        else:
            dupes.setdefault(str(kept.event_id), []).append(eid)
    return list(by_identity.values()), dupes


class Family(NamedTuple):
    """One claim family: its distinct versions in version order (current last). (A named tuple:
    the claim path builds one per claim per event.)"""

    family_id: str
    versions: tuple[Any, ...]
    anchored: bool  # an original (frequency 1) has arrived
    claim_ids: frozenset[str]  # every claim id in the family, named or received

    @property
    def current(self) -> Any | None:
        """The version that is in force (a void possibly), None while the family is held."""
        return self.versions[-1] if self.anchored else None

    @property
    def counted(self) -> Any | None:
        """The version whose content counts: the current one unless it is a void."""
        cur = self.current
        return cur if cur is not None and cur.frequency_code != "8" else None

    @property
    def held(self) -> bool:
        return not self.anchored

    def missing(self) -> list[str]:
        """Claim ids the family's corrections name that have not arrived (sorted)."""
        received = {v.claim_id for v in self.versions}
        return sorted(n for v in self.versions if (n := names(v)) and n not in received)

    def status(self, version: Any) -> tuple[str, str]:
        """(status, reason) of one of the family's versions, in words for an explanation:
        ``counted``, ``voided``, ``replaced``, ``void`` (the current void itself) or ``held``."""
        if not self.anchored:
            missing = self.missing()
            what = f"claim {', '.join(missing)}" if missing else "an original (frequency 1)"
            if version.frequency_code == "8":
                return "held", f"void whose original has not arrived ({what}): it voids nothing yet"
            return "held", f"correction held until its original arrives ({what})"
        cur = self.versions[-1]
        if version is cur:
            if cur.frequency_code == "8":
                return "void", "the void in force for this claim"
            return "counted", "current version"
        if cur.frequency_code == "8":
            return "voided", f"voided by claim {cur.claim_id} (frequency 8)"
        return "replaced", f"replaced by claim {cur.claim_id} (frequency {cur.frequency_code})"


def version_key(depth: int, c: Any) -> tuple:
    return (depth, FREQUENCY_RANK.get(c.frequency_code, 0), stamp(c), c.claim_id, str(c.event_id))


def _depths(versions: list[Any]) -> dict[str, int]:
    """Claim id → its depth in the correction chain: 0 for one that names no other, else 1 + the
    deepest it names. Claim ids that name each other round a cycle (bad data) share one depth,
    so the answer never depends on where a walk starts."""
    edges: dict[str, set[str]] = {}
    for v in versions:
        n = names(v)
        if n is not None:
            edges.setdefault(v.claim_id, set()).add(n)
    if not edges:
        return {}
    nodes = set(edges) | {t for ts in edges.values() for t in ts}
    reach: dict[str, set[str]] = {}
    for u in nodes:
        seen: set[str] = set()
        stack = list(edges.get(u, ()))
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                stack.extend(edges.get(x, ()))
        reach[u] = seen
    group = {u: frozenset([u, *(w for w in reach[u] if u in reach[w])]) for u in nodes}
    depth: dict[frozenset[str], int] = {}

    def of(g: frozenset[str]) -> int:  # over the groups' graph, which has no cycle
        if g not in depth:
            after = {group[t] for u in g for t in edges.get(u, ()) if group[t] != g}
            depth[g] = 1 + max((of(h) for h in after), default=-1)
        return depth[g]

    return {u: of(group[u]) for u in nodes}


def _grouped(claims: Iterable[Any]) -> tuple[list[Any], list[list[Any]], dict[int, str]]:
    """(lone originals, the other groups of versions, version id() → the claim id it names).

    A *lone original* is the only version of a claim id no correction names: a family of its
    own that counts as it is (most claims). Only claim ids a correction links go through the
    union of links."""
    versions, _ = distinct_versions(claims)
    named = {id(v): n for v in versions if (n := names(v)) is not None}
    linked = {n for n in named.values()}
    if named:
        linked.update(v.claim_id for v in versions if id(v) in named)
    by_id: dict[str, list[Any]] = {}
    for v in versions:
        by_id.setdefault(v.claim_id, []).append(v)
    lone: list[Any] = []
    groups: dict[str, list[Any]] = {}
    chained: list[Any] = []
    for cid, vs in by_id.items():
        if cid in linked:
            chained.extend(vs)
        elif len(vs) == 1 and vs[0].frequency_code == "1":
            lone.append(vs[0])
        else:
            groups[cid] = vs
    if chained:
        roots = _link_roots(chained)
        for v in chained:
            groups.setdefault("\x00" + roots[v.claim_id], []).append(v)  # never equal to a plain claim id
    return lone, list(groups.values()), named


def _family(members: list[Any], named: dict[int, str], depth: dict[str, int]) -> Family:
    if len(members) > 1:
        members.sort(key=lambda v: version_key(depth.get(v.claim_id, 0), v))
    ids = frozenset([*(v.claim_id for v in members), *(named[id(v)] for v in members if id(v) in named)])
    originals = [v.claim_id for v in members if v.frequency_code == "1"]
    return Family(min(originals) if originals else min(ids), tuple(members), bool(originals), ids)


def families(claims: Iterable[Any]) -> list[Family]:
    """Every family of ``claims`` (any order, duplicates allowed), by family id."""
    lone, groups, named = _grouped(claims)
    depth = _depths([v for g in groups for v in g if id(v) in named]) if named else {}
    out = [Family(v.claim_id, (v,), True, frozenset((v.claim_id,))) for v in lone]
    out.extend(_family(g, named, depth) for g in groups)
    out.sort(key=lambda f: f.family_id)
    return out


def current_versions(claims: Iterable[Any]) -> dict[str, Any]:
    """Family id → the version whose content counts now (voided and held families left out)."""
    lone, groups, named = _grouped(claims)
    out = {v.claim_id: v for v in lone}
    if groups:
        depth = _depths([v for g in groups for v in g if id(v) in named]) if named else {}
        for g in groups:
            f = _family(g, named, depth)
            if (c := f.counted) is not None:
                out[f.family_id] = c
    return out


def counted_versions(claims: Iterable[Any]) -> list[Any]:
    """The versions that count, ordered by claim id then event id."""
    out = list(current_versions(claims).values())
    out.sort(key=lambda c: (c.claim_id, str(c.event_id)))
    return out


def held_versions(claims: Iterable[Any]) -> list[Any]:
    """Versions of held families (corrections whose original has not arrived)."""
    return [v for f in families(claims) if f.held for v in f.versions]


def family_ids(claims: Iterable[Any]) -> dict[str, str]:
    """Every claim id (received or named) → the id of its family."""
    return _ids(families(claims))


def _ids(fams: Iterable[Family]) -> dict[str, str]:
    return {cid: f.family_id for f in fams for cid in f.claim_ids}


def families_of(touched: Iterable[Any], claims: Iterable[Any], *, before: list[Family] | None = None,
                after: list[Family] | None = None) -> frozenset[str]:
    """Family ids whose figures the ``touched`` versions can change, given the member's other
    ``claims``: their families after, and every id those families' claims had before (a late
    version in the middle of a chain joins two families; an original names a held family).
    ``before`` / ``after``: ``families(claims)`` / ``families(claims + touched)`` when the caller
    has them already."""
    touched, claims = list(touched), list(claims)
    now = _ids(after if after is not None else families([*claims, *touched]))
    was = _ids(before if before is not None else families(claims))
    roots = {now[c.claim_id] for c in touched}
    out = set(roots)
    for cid, fam in now.items():
        if fam in roots and cid in was:
            out.add(was[cid])
    return frozenset(out)


def family_closure(touched: Iterable[Any], claims: Iterable[Any]) -> set[str]:
    """Event ids of the ``claims`` in the families of the ``touched`` versions: the only ones
    needed to decide those families. Reads only ``claim_id``, ``frequency_code``,
    ``original_claim_id`` and ``event_id`` (a store can decide from slim rows which bodies to load)."""
    touched, claims = list(touched), list(claims)
    links = _link_roots([*claims, *touched])
    roots = {links[c.claim_id] for c in touched}
    return {str(c.event_id) for c in claims if links[c.claim_id] in roots}


def _link_roots(claims: list[Any]) -> dict[str, str]:
    """Claim id → a representative of its linked component (links only, no ranking)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for c in claims:
        find(c.claim_id)
        n = names(c)
        if n is not None:
            a, b = find(c.claim_id), find(n)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {cid: find(cid) for cid in list(parent)}
