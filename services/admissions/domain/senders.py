"""Per-sender policy as data: what each sending facility's feed is allowed, as interface engines
let their users set per channel. Pure: built from a mapping (the YAML file is read by settings).

```yaml
defaults:                       # every sender not matched below (these are the defaults)
  mode: lenient                 # lenient | strict (strict: every warning refuses the message)
  identifier_priority: [{type: MR}]
  warnings_in_ack: false        # ERR segments with severity W in the AA (HL7 2.5 and later)
  application_acks: true        # MSH-16 AL/ER/SU answered on the same connection
senders:
  - match: {facility: GHHSFacility}   # MSH-4 (namespace id, else universal id); or
                                      # {application: ADTApp} (MSH-3) or {tls_cn: ...} (client cert)
    facility: GHH               # the name the platform uses for this sender (dedupe, encounter keys, census)
    mode: strict
    identifier_priority: [{authority: GHH, type: MR}, {type: MR}, {type: PI}]
    default_authority: GHH      # CX-4 assumed for PID-3 identifiers sent without one
    timezone: Europe/Paris      # zone of times sent without an offset
```

Identity of a message's sender (``resolve``): MSH-4, else MSH-3, else the TLS client
certificate's common name, else the facility configured for the listener; then the first rule
that matches it (in file order) may rename it and sets its policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FACILITY_MAX = 64  # the event contract's and the dedupe table's bound
_MISS = object()


class SenderPolicyError(ValueError):
    """The per-sender file is not valid (the message names the entry and the key)."""


@dataclass(frozen=True)
class IdPreference:
    """One step of the identifier priority: an identifier type (CX-5) and/or assigning authority (CX-4)."""

    id_type: str | None = None
    authority: str | None = None

    def matches(self, ident: Mapping[str, Any]) -> bool:
        return ((self.id_type is None or (ident.get("id_type") or "").upper() == self.id_type.upper())
                and (self.authority is None or ident.get("assigning_authority") == self.authority))


@dataclass(frozen=True)
class SenderPolicy:
    strict: bool = False
    identifier_priority: tuple[IdPreference, ...] = (IdPreference(id_type="MR"),)
    default_authority: str | None = None
    tz: tzinfo | None = None  # None: the listener's DEFAULT_FEED_TIMEZONE
    timezone: str | None = None
    warnings_in_ack: bool = False
    application_acks: bool = True
    facility: str | None = None  # rename the sender (None: as resolved)


@dataclass(frozen=True)
class SenderMatch:
    facility: str | None = None
    application: str | None = None
    tls_cn: str | None = None

    def matches(self, facility: str, application: str, tls_cn: str | None) -> bool:
        return ((self.facility is None or self.facility == facility)
                and (self.application is None or self.application == application)
                and (self.tls_cn is None or self.tls_cn == tls_cn))


@dataclass(frozen=True)
class Sender:
    """Who sent a message, as the platform names it, how it was found, and its policy."""

    facility: str
    source: str  # MSH-4 | MSH-3 | TLS | listener | policy
    policy: SenderPolicy
    truncated: bool = False


@dataclass(frozen=True)
class SenderBook:
    defaults: SenderPolicy = field(default_factory=SenderPolicy)
    rules: tuple[tuple[SenderMatch, SenderPolicy], ...] = ()
    listener_facility: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    zoned: bool = field(default=False, compare=False, repr=False)  # set from the policies (__post_init__)

    def __post_init__(self) -> None:
        # whether any policy sets its own time zone (then the sender is read before the times)
        object.__setattr__(self, "zoned", self.defaults.tz is not None or any(p.tz is not None for _, p in self.rules))

    def resolve(self, msh4: str, msh3: str, tls_cn: str | None = None) -> Sender | None:
        """The sender of a message; None when nothing identifies it (MSH-4, MSH-3, certificate,
        listener all empty). Answers are cached (a feed has few distinct headers)."""
        key = (msh4, msh3, tls_cn)
        cache = self._cache
        hit = cache.get(key, _MISS)
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        sender = self._resolve(msh4, msh3, tls_cn)
        if len(cache) >= 4096:
            cache.clear()
        cache[key] = sender
        return sender

    def _resolve(self, msh4: str, msh3: str, tls_cn: str | None) -> Sender | None:
        for name, source in ((msh4, "MSH-4"), (msh3, "MSH-3"), (tls_cn or "", "TLS"),
                             (self.listener_facility or "", "listener")):
            if name:
                break
        else:
            return None
        policy = self.defaults
        for match, rule in self.rules:
            if match.matches(msh4 or name, msh3, tls_cn):
                policy = rule
                break
        if policy.facility:
            name = policy.facility
        truncated = len(name) > FACILITY_MAX
        return Sender(name[:FACILITY_MAX], source, policy, truncated)


LENIENT_DEFAULTS = SenderBook()


def _zone(name: str | None, where: str) -> tzinfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SenderPolicyError(f"{where}: timezone is not an IANA time zone name") from None


def _policy(data: Mapping[str, Any], base: SenderPolicy, where: str) -> SenderPolicy:
    known = {"mode", "identifier_priority", "default_authority", "timezone", "warnings_in_ack", "application_acks",
             "facility", "match"}
    unknown = set(data) - known
    if unknown:
        raise SenderPolicyError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    out = base
    if "mode" in data:
        if data["mode"] not in ("strict", "lenient"):
            raise SenderPolicyError(f"{where}: mode must be strict or lenient")
        out = replace(out, strict=data["mode"] == "strict")
    if "identifier_priority" in data:
        prefs = []
        for n, item in enumerate(data["identifier_priority"] or (), 1):
            if not isinstance(item, Mapping) or not (set(item) <= {"type", "authority"}) or not item:
                raise SenderPolicyError(f"{where}: identifier_priority[{n}] takes type and/or authority")
            prefs.append(IdPreference(id_type=item.get("type"), authority=item.get("authority")))
        out = replace(out, identifier_priority=tuple(prefs))
    for key in ("warnings_in_ack", "application_acks"):
        if key in data:
            if not isinstance(data[key], bool):
                raise SenderPolicyError(f"{where}: {key} must be true or false")
            out = replace(out, **{key: data[key]})
    if "default_authority" in data:
        out = replace(out, default_authority=data["default_authority"] or None)
    if "timezone" in data:
        out = replace(out, timezone=data["timezone"], tz=_zone(data["timezone"], where))
    if "facility" in data:
        name = str(data["facility"] or "")
        if not name or len(name) > FACILITY_MAX:
            raise SenderPolicyError(f"{where}: facility must be 1 to {FACILITY_MAX} characters")
        out = replace(out, facility=name)
    return out


def sender_book(data: Mapping[str, Any] | None, listener_facility: str | None = None) -> SenderBook:
    """A ``SenderBook`` from the parsed file (None: the lenient defaults)."""
    data = data or {}
    if not isinstance(data, Mapping) or not set(data) <= {"defaults", "senders"}:
        raise SenderPolicyError("the file takes two keys: defaults and senders")
    defaults = _policy(data.get("defaults") or {}, SenderPolicy(), "defaults")
    if defaults.facility:
        raise SenderPolicyError("defaults: facility belongs to a sender entry")
    rules = []
    for n, entry in enumerate(data.get("senders") or (), 1):
        where = f"senders[{n}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("match"), Mapping) or not entry["match"]:
            raise SenderPolicyError(f"{where}: match (facility, application and/or tls_cn) is required")
        m = entry["match"]
        if not set(m) <= {"facility", "application", "tls_cn"}:
            raise SenderPolicyError(f"{where}: match takes facility, application and/or tls_cn")
        rules.append((SenderMatch(m.get("facility"), m.get("application"), m.get("tls_cn")),
                      _policy(entry, defaults, where)))
    return SenderBook(defaults, tuple(rules), listener_facility or None)
