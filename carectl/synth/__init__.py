"""Synthetic population generator: members, ADT messages, 837P/837I and CSV claims, a timeline.

    from carectl.synth import SynthConfig, generate, iter_timeline
    manifest = generate(SynthConfig(members=5000, seed=7), "var/synth")
    for item in iter_timeline("var/synth"):      # roster loads, claims deliveries, ADT messages
        ...

Same config and seed → byte-identical files. See ``writer`` for the directory layout and
``timeline`` / ``pacing`` for replaying it.
"""

from .config import MALFORMED_KINDS, SynthConfig
from .hl7v2 import escape as hl7_escape
from .pacing import Pacer, RateClock, ReplayClock, paced, speedup_for
from .timeline import (AdtItem, ClaimBatch, RosterLoad, TimelineItem, iter_adt, iter_claim_batches,
                       iter_rosters, iter_timeline, load_manifest, read_hl7_file)
from .writer import ADT_INDEX_COLUMNS, MANIFEST_FORMAT, generate, iter_people

__all__ = [
    "ADT_INDEX_COLUMNS", "MALFORMED_KINDS", "MANIFEST_FORMAT", "AdtItem", "ClaimBatch", "Pacer", "RateClock",
    "ReplayClock", "RosterLoad", "SynthConfig", "TimelineItem", "generate", "hl7_escape", "iter_adt",
    "iter_claim_batches", "iter_people", "iter_rosters", "iter_timeline", "load_manifest", "paced",
    "read_hl7_file", "speedup_for",
]
