"""HL7 v2 ADT forward: the message as received, or a configured subset, and its ACK.

- Segments: all as received, or only those listed (MSH is always kept first). A subset is the
  minimum-necessary form a practice's interface may ask for (e.g. MSH, EVN, PID, PV1).
- MSH-10 stays as received: with MSH-4 (the sending facility) it is the idempotency key the
  receiver dedupes on, and a redelivery carries the same. MSH-5/MSH-6 are set to the
  receiving application/facility when configured.
- The ACK must be an MSA whose MSA-2 echoes our MSH-10: AA/CA is delivered; AE/AR/CE/CR (and a
  wrong or missing MSA) is a failure retried per the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

START, END = b"\x0b", b"\x1c\x0d"


@dataclass(frozen=True)
class Ack:
    code: str | None  # AA | AE | AR | CA | CE | CR | None (no MSA)
    control_id: str | None
    text: str | None

    def accepts(self, control_id: str) -> bool:
        return self.code in ("AA", "CA") and self.control_id == control_id


def segments_of(message: str) -> list[str]:
    return [s for s in message.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]


def prepare(message: str, *, segments: tuple[str, ...] | None = None, receiving_application: str | None = None,
            receiving_facility: str | None = None) -> tuple[str, str]:
    """(the message to send, its MSH-10)."""
    segs = segments_of(message)
    if not segs or not segs[0].startswith("MSH"):
        raise ValueError("not an HL7 v2 message (no MSH first)")
    msh = segs[0]
    sep = msh[3]
    fields = msh.split(sep)
    # fields[0] = "MSH", fields[1] = encoding characters (MSH-2); MSH-n is fields[n - 1]
    while len(fields) < 12:
        fields.append("")
    if receiving_application:
        fields[4] = receiving_application
    if receiving_facility:
        fields[5] = receiving_facility
    control_id = fields[9]
    kept = [sep.join(fields)]
    for s in segs[1:]:
        if segments is None or s[:3] in segments:
            kept.append(s)
    return "\r".join(kept) + "\r", control_id


def frame(message: str) -> bytes:
    return START + message.encode("utf-8") + END


def parse_ack(data: bytes) -> Ack:
    text = data.strip(b"\x0b\x1c\r\n").decode("utf-8", "replace")
    for seg in segments_of(text):
        if seg.startswith("MSA"):
            sep = seg[3] if len(seg) > 3 else "|"
            f = seg.split(sep)
            return Ack(f[1] if len(f) > 1 else None, f[2] if len(f) > 2 else None, f[3] if len(f) > 3 else None)
    return Ack(None, None, None)
