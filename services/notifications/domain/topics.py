"""The notification topics: what a subscriber can ask for, the platform event behind each, the
FHIR resource it is about (the ``focus``) and which channels can carry it.

No SubscriptionTopic for encounter start/end is normative in FHIR R4 (the Subscriptions backport
IG leaves topic definitions out of scope; MedMorph lists encounter-start/-end as "proposed"), so
the topics are ours: canonical ``<FHIR_CANONICAL_BASE>/SubscriptionTopic/<code>``, advertised on
the CapabilityStatement. MedMorph's encounter-start/-end canonicals are accepted as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

ENCOUNTER_START = "encounter-start"
ENCOUNTER_TRANSFER = "encounter-transfer"
ENCOUNTER_END = "encounter-end"
ENCOUNTER_CANCEL = "encounter-cancel"
PATIENT_MERGE = "patient-merge"
TRANSITION_DUE = "care-transition-due"
GAP_OPENED = "care-gap-opened"
GAP_CLOSED = "care-gap-closed"
GAP_EXCLUDED = "care-gap-excluded"
TASK_OVERDUE = "task-overdue"
ADT_FEED = "adt-feed"

# channels
FHIR = "fhir-rest-hook"
WEBHOOK = "webhook"
DAVINCI = "davinci"
MLLP = "mllp"
CHANNELS = (FHIR, WEBHOOK, DAVINCI, MLLP)


@dataclass(frozen=True)
class TopicDef:
    code: str
    title: str
    focus: str  # FHIR resource type the notification is about
    source: str  # the platform events behind it (documentation, CapabilityStatement)
    channels: tuple[str, ...]


_JSON = (FHIR, WEBHOOK)
TOPICS: dict[str, TopicDef] = {t.code: t for t in (
    TopicDef(ENCOUNTER_START, "Encounter start: inpatient admission or ED registration", "Encounter",
             "alerts.hospitalist alert.raised", _JSON + (DAVINCI,)),
    TopicDef(ENCOUNTER_TRANSFER, "Encounter transfer: the patient moved (A02)", "Encounter",
             "alerts.hospitalist alert.updated (A02)", _JSON + (DAVINCI,)),
    TopicDef(ENCOUNTER_END, "Encounter end: discharge, with the disposition", "Encounter",
             "care.transitions care.transition", _JSON + (DAVINCI,)),
    TopicDef(ENCOUNTER_CANCEL, "Encounter cancelled: admission cancelled (A11), discharge cancelled (A13), "
             "or folded away by a merge", "Encounter",
             "alerts.hospitalist alert.retracted, care.transitions care.transition_cancelled", _JSON),
    TopicDef(PATIENT_MERGE, "Patient records merged at a hospital (A40)", "Patient", "adt.events A40", _JSON),
    TopicDef(TRANSITION_DUE, "Care transition due: TCM contact and visit deadlines after a discharge (or withdrawn)",
             "Encounter", "care.transitions care.transition (tcm_applicable), care.transition_cancelled", _JSON),
    TopicDef(GAP_OPENED, "Care gap opened", "DetectedIssue", "gaps.events gap.opened", _JSON),
    TopicDef(GAP_CLOSED, "Care gap closed", "DetectedIssue", "gaps.events gap.closed", _JSON),
    TopicDef(GAP_EXCLUDED, "Care gap excluded or not applicable", "DetectedIssue", "gaps.events gap.excluded", _JSON),
    TopicDef(TASK_OVERDUE, "Outreach task overdue: past its due date with nobody reached", "Task",
             "outreach.tasks task.lifecycle + the local calendar day", _JSON),
    TopicDef(ADT_FEED, "HL7 v2 ADT messages of attributed members, forwarded as received (or a subset)",
             "Encounter", "adt.events adt.message", (MLLP,)),
)}

DAVINCI_EVENTS = {
    ENCOUNTER_START: "notification-admit",
    ENCOUNTER_END: "notification-discharge",
    ENCOUNTER_TRANSFER: "notification-transfer",
}

MEDMORPH = "http://hl7.org/fhir/us/medmorph/SubscriptionTopic/"
ALIASES = {MEDMORPH + "encounter-start": ENCOUNTER_START, MEDMORPH + "encounter-end": ENCOUNTER_END}


def canonical(code: str, base: str) -> str:
    return f"{base.rstrip('/')}/SubscriptionTopic/{code}"


def topic_of_canonical(url: str, base: str) -> str | None:
    """The topic code of a canonical URL (ours, or an accepted alias); a ``|version`` is ignored."""
    url = url.split("|", 1)[0]
    if url in ALIASES:
        return ALIASES[url]
    prefix = f"{base.rstrip('/')}/SubscriptionTopic/"
    if url.startswith(prefix):
        code = url[len(prefix):]
        return code if code in TOPICS and TOPICS[code].channels != (MLLP,) else None
    return None


def channel_topics(channel: str) -> tuple[str, ...]:
    return tuple(code for code, t in TOPICS.items() if channel in t.channels)
