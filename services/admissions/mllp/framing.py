"""Incremental MLLP decoder: ``<VT> message <FS><CR>`` (0x0B … 0x1C 0x0D).

Feed it bytes as they arrive; it returns what completed:

- ``Frame``: one complete message (the payload between the blocks);
- ``Junk``: bytes outside any frame (reported, never silently dropped);
- ``Truncated``: a frame cut short — a new start block arrived before its end block, or the
  connection ended (``eof()``) in the middle of it;
- ``Oversized``: a frame that grew past ``max_frame_bytes``. It is reported once its end
  block arrives (so answers keep the order of frames), with the first ``keep_head`` bytes
  for the NAK and the dead letter; the rest is discarded. A new start block inside an
  oversized frame also ends it and starts the next frame (resynchronisation).

An end block without its CR is accepted (some senders omit it); a CR that follows later
is swallowed. The decoder is pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

START = 0x0B
END = 0x1C
CR = 0x0D
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"


def frame(payload: bytes) -> bytes:
    """Wrap one message in MLLP blocks."""
    return START_BLOCK + payload + END_BLOCK


@dataclass(frozen=True)
class Frame:
    payload: bytes


@dataclass(frozen=True)
class Junk:
    data: bytes

    @property
    def blank(self) -> bool:
        """Only whitespace (CR/LF between frames is common and harmless)."""
        return not self.data.strip()


@dataclass(frozen=True)
class Truncated:
    payload: bytes
    reason: str  # "next start block" | "connection closed"


@dataclass(frozen=True)
class Oversized:
    size: int  # bytes of payload seen
    head: bytes  # the first bytes, for the NAK (MSH) and the dead letter
    ended: bool = True  # False when the connection closed before the end block


FrameEvent = Frame | Junk | Truncated | Oversized


class MllpDecoder:
    def __init__(self, max_frame_bytes: int = 1 << 20, keep_head: int = 64 * 1024) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be positive")
        self.max_frame_bytes = max_frame_bytes
        self.keep_head = min(keep_head, max_frame_bytes)
        self._buf = bytearray()   # payload of the frame in progress (or its head when oversized)
        self._in_frame = False
        self._oversized = 0       # bytes seen of an oversized frame (0: not oversized)
        self._swallow_cr = False  # an end block arrived without its CR

    def feed(self, data: bytes) -> list[FrameEvent]:
        out: list[FrameEvent] = []
        i, n = 0, len(data)
        if self._swallow_cr and n:
            self._swallow_cr = False
            if data[0] == CR:
                i = 1
        while i < n:
            if not self._in_frame:
                j = data.find(START, i)
                if j < 0:
                    out.append(Junk(bytes(data[i:])))
                    break
                if j > i:
                    out.append(Junk(bytes(data[i:j])))
                self._start()
                i = j + 1
                continue
            # inside a frame: the next end block or start block, whichever is first
            e = data.find(END, i)
            s = data.find(START, i)
            stop = e if e >= 0 and (s < 0 or e < s) else s
            chunk = data[i:] if stop < 0 else data[i:stop]
            self._append(chunk)
            if stop < 0:
                break
            if stop == s:  # a new frame begins before this one ended
                out.append(self._finish_truncated("next start block"))
                self._start()
                i = s + 1
                continue
            out.append(self._finish())
            i = e + 1
            if i < n and data[i] == CR:
                i += 1
            elif i >= n:
                self._swallow_cr = True
        return out

    def eof(self) -> list[FrameEvent]:
        """The connection ended: a frame in progress is reported as cut short."""
        self._swallow_cr = False
        if not self._in_frame:
            return []
        if self._oversized:
            event: FrameEvent = Oversized(self._oversized, bytes(self._buf), ended=False)
            self._reset()
            return [event]
        return [self._finish_truncated("connection closed")]

    # ------------------------------------------------------------------ internals

    def _start(self) -> None:
        self._reset()
        self._in_frame = True

    def _reset(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self._oversized = 0

    def _append(self, chunk: bytes | memoryview) -> None:
        if not chunk:
            return
        if self._oversized:
            self._oversized += len(chunk)
            return
        self._buf += chunk
        if len(self._buf) > self.max_frame_bytes:
            self._oversized = len(self._buf)
            del self._buf[self.keep_head:]

    def _finish(self) -> FrameEvent:
        event: FrameEvent = Oversized(self._oversized, bytes(self._buf)) if self._oversized else Frame(bytes(self._buf))
        self._reset()
        return event

    def _finish_truncated(self, reason: str) -> FrameEvent:
        if self._oversized:
            event: FrameEvent = Oversized(self._oversized, bytes(self._buf), ended=False)
        else:
            event = Truncated(bytes(self._buf), reason)
        self._reset()
        return event
