"""Traffic's read side: state, history and indices; what other areas and open data may use."""

from shahr.traffic.queries.state import (
    SegmentStateView,
    StateSnapshot,
    segment_states,
    state_snapshot,
)

__all__ = ["SegmentStateView", "StateSnapshot", "segment_states", "state_snapshot"]
