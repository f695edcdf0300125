"""Replies clients text back to the invitation number: which of them mean "stop".

Only a message that is nothing but a stop word counts, so "stop by tomorrow?" or a
longer reply never silently opts someone out; case, surrounding whitespace and
punctuation ("Stop!", " lopeta.") do not matter. Finnish, Swedish and English words,
the languages the invitations are sent in.
"""

from __future__ import annotations

import re

STOP_WORDS = frozenset({"stop", "lopeta", "sluta"})
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def is_stop_message(message: str) -> bool:
    """True when the whole reply is a stop word."""
    return _EDGES.sub("", message).casefold() in STOP_WORDS
