"""MSH-18 character sets (HL7 table 0211) → Python codecs, and safe decoding of a message.

The ACK path decodes every message once:

- pure ASCII (the usual case): decoded as is, MSH-18 not consulted;
- otherwise MSH-18 is read from the raw bytes (the MSH segment is ASCII in every supported
  set) and the bytes are decoded in the declared set. Bytes that are not valid in it are
  replaced (U+FFFD), never a crash: the message is accepted with a ``bad_encoding`` warning;
- no MSH-18, or a name this table does not know: UTF-8 (the v2.8 recommendation), else
  ISO 8859-1, which never fails; an unknown name is also a warning (``unknown_code``).
"""

from __future__ import annotations

CODECS: dict[str, str] = {
    "ASCII": "ascii", "ISO IR6": "ascii",
    "8859/1": "latin-1", "ISO IR100": "latin-1", "ISO-8859-1": "latin-1", "ISO8859-1": "latin-1", "LATIN1": "latin-1",
    "8859/2": "iso8859_2", "ISO IR101": "iso8859_2",
    "8859/3": "iso8859_3", "ISO IR109": "iso8859_3",
    "8859/4": "iso8859_4", "ISO IR110": "iso8859_4",
    "8859/5": "iso8859_5", "ISO IR144": "iso8859_5",
    "8859/6": "iso8859_6", "ISO IR127": "iso8859_6",
    "8859/7": "iso8859_7", "ISO IR126": "iso8859_7",
    "8859/8": "iso8859_8", "ISO IR138": "iso8859_8",
    "8859/9": "iso8859_9", "ISO IR148": "iso8859_9",
    "8859/15": "iso8859_15", "ISO-8859-15": "iso8859_15",
    "UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "UTF8": "utf-8", "ISO IR192": "utf-8",
    "UNICODE": "utf-8",  # deprecated in table 0211; senders mean UTF-8 (nHapi reads it so too)
    "GB 18030-2000": "gb18030", "KS X 1001": "euc_kr", "BIG-5": "big5",
    "WINDOWS-1252": "cp1252", "CP1252": "cp1252",
}


def codec_for(name: str) -> str | None:
    """The Python codec of an MSH-18 value (first repetition), None when unknown."""
    return CODECS.get(name.strip().upper()) if name else None


def declared_charset(raw: bytes) -> str:
    """MSH-18 read from the bytes (first repetition, first component); ``""`` if absent."""
    start = raw.find(b"MSH")
    if start < 0 or len(raw) < start + 4:
        return ""
    end = len(raw)
    for stop in (raw.find(b"\r", start), raw.find(b"\n", start)):
        if 0 <= stop < end:
            end = stop
    header = raw[start:end]
    fs = header[3:4]
    if not fs:  # "MSH" alone on its line: no field separator, so no MSH-18
        return ""
    parts = header.split(fs)
    if len(parts) < 18:  # parts[0] is "MSH", parts[1] MSH-2, so MSH-18 is parts[17]
        return ""
    value = parts[17]
    for sep in (b"~", b"^"):
        value = value.split(sep, 1)[0]
    return value.decode("ascii", "replace").strip()


def decode_bytes(raw: bytes) -> tuple[str, str, str | None]:
    """(text, codec, problem): problem is None, ``"invalid"`` (bytes not valid in the declared set,
    replaced) or ``"unknown"`` (MSH-18 names a set this table does not know)."""
    if raw.isascii():
        return raw.decode("ascii"), "utf-8", None
    declared = declared_charset(raw)
    codec = codec_for(declared)
    if codec is not None:
        try:
            return raw.decode(codec), codec, None
        except UnicodeDecodeError:
            return raw.decode(codec, "replace"), (codec if codec != "ascii" else "utf-8"), "invalid"
    problem = "unknown" if declared else None
    try:
        return raw.decode("utf-8"), "utf-8", problem
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1", problem
