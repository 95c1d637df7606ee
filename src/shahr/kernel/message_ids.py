"""The id a publisher gives a fact, so that publishing the fact again is recognised.

Framework-free, so events may name themselves with it: the stream's duplicate window drops
a second publish with the same id, and handlers know the fact by it beyond that window.
"""

from __future__ import annotations


def message_id(kind: str, *parts: object) -> str:
    """`Kind:part:...`, for example `PaymentVerified:<payment id>`."""
    return ":".join([kind, *(str(part) for part in parts)])
