"""Subjects and names on the stream: `shahr.<city>.<family>.<...>`, checked the same by both
adapters."""

from __future__ import annotations

import re

# Stream families a city has: domain events, and the much larger flow of sensor readings.
FAMILIES = ("events", "sensors")

_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def subject(settings_city: str, *parts: str) -> str:
    """The subject `shahr.<city>.<parts...>`; `*` and `>` are allowed as whole tokens."""
    tokens = ["shahr", settings_city, *parts]
    for position, part in enumerate(tokens):
        if part == ">" and position == len(tokens) - 1:
            continue
        if part != "*" and not _TOKEN.fullmatch(part):
            raise ValueError(f"invalid subject token {part!r} in {'.'.join(tokens)!r}")
    return ".".join(tokens)


def subject_matches(subject_filter: str, subject_name: str) -> bool:
    """Whether a NATS subject matches a filter with `*` (one token) and `>` (the rest)."""
    wanted = subject_filter.split(".")
    tokens = subject_name.split(".")
    for position, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > position
        if position >= len(tokens):
            return False
        if part not in ("*", tokens[position]):
            return False
    return len(tokens) == len(wanted)


def stream_name(city: str, family: str) -> str:
    """The JetStream stream name for a city's family of subjects."""
    return f"SHAHR_{re.sub(r'[^A-Za-z0-9_-]', '_', city).upper()}_{family.upper()}"


def family_of(city: str, subject_name: str) -> str:
    """The family a subject or filter lies in; JetStream consumers cannot span two streams."""
    tokens = subject_name.split(".")
    if len(tokens) < 4 or tokens[0] != "shahr" or tokens[1] != city or tokens[2] not in FAMILIES:
        raise ValueError(
            f"{subject_name!r} is outside this city's streams"
            f" (shahr.{city}.{{{','.join(FAMILIES)}}}.>)"
        )
    return tokens[2]


def check_publish_subject(subject_name: str) -> None:
    if not subject_name or any(not _TOKEN.fullmatch(token) for token in subject_name.split(".")):
        raise ValueError(f"cannot publish to {subject_name!r}: tokens must be plain words")


def check_subscription(
    city: str | None, subject_filter: str, durable: str, max_deliver: int
) -> None:
    """What both adapters refuse in a subscription, the same way (no city: any family)."""
    _check_durable(durable)
    if city is not None:
        family_of(city, subject_filter)
    if max_deliver < 1:
        raise ValueError("max_deliver must be at least 1")


def _check_durable(durable: str) -> None:
    # JetStream consumer names refuse dots, wildcards and whitespace; refuse them here too.
    if not _NAME.fullmatch(durable):
        raise ValueError(f"invalid durable name {durable!r}: use letters, digits, - and _")
