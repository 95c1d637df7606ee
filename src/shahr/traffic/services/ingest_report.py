"""What one ingest batch did, and the counters `/metrics` shows for it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter as PrometheusCounter

from shahr.traffic.domain.readings import RejectReason

READINGS_REJECTED = PrometheusCounter(
    "shahr_traffic_readings_rejected_total",
    "Traffic readings and passages refused at ingest, by reason",
    ["reason"],
)
READINGS_ACCEPTED = PrometheusCounter(
    "shahr_traffic_readings_accepted_total", "Traffic detector readings stored and counted"
)
READINGS_DUPLICATE = PrometheusCounter(
    "shahr_traffic_readings_duplicate_total",
    "Traffic readings and passages already stored (redeliveries, repeats): not counted again",
)
PASSAGES_ACCEPTED = PrometheusCounter(
    "shahr_traffic_passages_accepted_total", "Plate passages stored"
)
for _reason in RejectReason:
    READINGS_REJECTED.labels(_reason.value)


@dataclass
class IngestReport:
    """What one batch did; `rejected` counts by reason (the same as in /metrics)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    passages: int = 0
    journeys: int = 0
    # Journeys of camera pairs not fused (clock skew, no route between the cameras), and
    # those pairs as "from>to": reason.
    journeys_unused: int = 0
    journey_pairs_refused: dict[str, str] = field(default_factory=dict)
    segment_states: int = 0
    intervals: list[datetime] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def add(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.passages += other.passages
        self.journeys += other.journeys
        self.journeys_unused += other.journeys_unused
        self.journey_pairs_refused.update(other.journey_pairs_refused)
        self.segment_states += other.segment_states
        self.intervals = sorted(set(self.intervals) | set(other.intervals))


def reject(report: IngestReport, reason: RejectReason, times: int = 1) -> None:
    report.rejected[reason.value] += times
    READINGS_REJECTED.labels(reason.value).inc(times)
