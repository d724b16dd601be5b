"""A member's message to the care team: what a well-formed one is."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from shared.events.portal import MAX_BODY, MAX_SUBJECT, MESSAGE_TOPICS

from .errors import InvalidInput


@dataclass(frozen=True)
class Draft:
    topic: str
    subject: str
    body: str


def _clean(text: str, *, multiline: bool) -> str:
    kept = []
    for ch in text:
        if ch in "\r":
            continue
        if ch in "\n\t" and multiline:
            kept.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co") or ch in "\u2028\u2029":
            continue  # control characters (NUL included), surrogates, private use: dropped
        else:
            kept.append(ch)
    return "".join(kept).strip()


def compose(topic: str | None, subject: str | None, body: str | None) -> Draft:
    if topic not in MESSAGE_TOPICS:
        raise InvalidInput("Choose what your message is about.", field="topic")
    subj = _clean(subject or "", multiline=False)
    text = _clean(body or "", multiline=True)
    if not subj:
        raise InvalidInput("Write a short subject.", field="subject")
    if len(subj) > MAX_SUBJECT:
        raise InvalidInput(f"The subject can be at most {MAX_SUBJECT} characters.", field="subject")
    if not text:
        raise InvalidInput("Write your message.", field="body")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"The message can be at most {MAX_BODY} characters.", field="body")
    return Draft(topic, subj, text)
