"""The durable stream port: at-least-once delivery to named consumers, in process or JetStream.

`port`: the message and the protocol; `subjects`: subject and stream names; `delivery`: the
message-id header, handler bindings and backoff both adapters share; `in_process` and
`jetstream`: the two adapters. A message's id itself comes from `kernel.message_ids`.
"""

from __future__ import annotations

from shahr.kernel.settings import Settings
from shahr.kernel.stream.delivery import MAX_REDELIVER_DELAY_S, MSG_ID_HEADER
from shahr.kernel.stream.in_process import InProcessStream
from shahr.kernel.stream.jetstream import FETCH_MORE_S, JetStreamStream
from shahr.kernel.stream.port import (
    DUPLICATE_WINDOW_S,
    BatchHandler,
    Handler,
    Stream,
    StreamMessage,
)
from shahr.kernel.stream.subjects import FAMILIES, stream_name, subject, subject_matches


def make_stream(settings: Settings) -> Stream:
    """The stream the settings name: JetStream when `SHAHR_NATS_URL` is set, else in process."""
    if settings.nats_url:
        return JetStreamStream(settings.nats_url, city=settings.city)
    return InProcessStream(city=settings.city)


__all__ = [
    "DUPLICATE_WINDOW_S",
    "FAMILIES",
    "FETCH_MORE_S",
    "MAX_REDELIVER_DELAY_S",
    "MSG_ID_HEADER",
    "BatchHandler",
    "Handler",
    "InProcessStream",
    "JetStreamStream",
    "Stream",
    "StreamMessage",
    "make_stream",
    "stream_name",
    "subject",
    "subject_matches",
]
