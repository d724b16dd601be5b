"""The incremental MLLP decoder."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.admissions.mllp.framing import Frame, Junk, MllpDecoder, Oversized, Truncated, frame


def feed_all(decoder, *chunks):
    out = []
    for c in chunks:
        out += decoder.feed(c)
    return out


def test_two_frames_in_one_read():
    d = MllpDecoder()
    assert d.feed(frame(b"one") + frame(b"two")) == [Frame(b"one"), Frame(b"two")]


def test_frame_split_across_reads_including_between_the_end_bytes():
    d = MllpDecoder()
    data = frame(b"MSH|a\rPID|b")
    assert feed_all(d, data[:3], data[3:-1]) == [Frame(b"MSH|a\rPID|b")]
    assert d.feed(data[-1:]) == []  # the CR of the end block is swallowed, not junk
    assert d.feed(frame(b"next")) == [Frame(b"next")]


def test_bytes_outside_frames_are_reported():
    d = MllpDecoder()
    out = d.feed(b"hello" + frame(b"m") + b"\r\n" + frame(b"n") + b"tail")
    assert out == [Junk(b"hello"), Frame(b"m"), Junk(b"\r\n"), Frame(b"n"), Junk(b"tail")]
    assert out[2].blank and not out[0].blank


def test_start_block_inside_a_frame_truncates_it_and_starts_the_next():
    d = MllpDecoder()
    assert d.feed(b"\x0bpartial\x0bwhole\x1c\x0d") == [Truncated(b"partial", "next start block"), Frame(b"whole")]


def test_connection_closed_mid_frame_is_reported_as_truncated():
    d = MllpDecoder()
    assert d.feed(b"\x0bhalf a mess") == []
    assert d.eof() == [Truncated(b"half a mess", "connection closed")]
    assert d.eof() == []


def test_end_block_without_cr_is_accepted():
    d = MllpDecoder()
    assert d.feed(b"\x0bone\x1c\x0btwo\x1c") == [Frame(b"one"), Frame(b"two")]


def test_oversized_frame_is_refused_at_its_end_and_the_decoder_resynchronises():
    d = MllpDecoder(max_frame_bytes=100, keep_head=10)
    big = b"MSH|" + b"x" * 500
    out = feed_all(d, b"\x0b" + big[:50], big[50:300], big[300:] + b"\x1c\x0d" + frame(b"ok"))
    assert out == [Oversized(len(big), big[:10]), Frame(b"ok")]


def test_oversized_frame_cut_by_a_new_start_block():
    d = MllpDecoder(max_frame_bytes=10, keep_head=4)
    assert d.feed(b"\x0b" + b"y" * 50 + frame(b"ok")) == [Oversized(50, b"yyyy", ended=False), Frame(b"ok")]


def test_frame_of_exactly_the_maximum_is_accepted():
    d = MllpDecoder(max_frame_bytes=10)
    assert d.feed(frame(b"0123456789")) == [Frame(b"0123456789")]
    assert d.feed(frame(b"0123456789A")) == [Oversized(11, b"0123456789")]


_payload = st.binary(max_size=60).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(_payload, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 600), max_size=12))
def test_any_split_of_a_stream_of_frames_reassembles_it(payloads, cuts):
    stream = b"".join(frame(p) for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0] + points, points + [len(stream)])]
    d = MllpDecoder()
    out = feed_all(d, *chunks)
    assert out == [Frame(p) for p in payloads]
    assert d.eof() == []
