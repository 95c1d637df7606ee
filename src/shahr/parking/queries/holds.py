"""Search's copy of the bays held over a window (`HoldsCopy`): kept in memory about a second.

Search counts free bays on every request, and asking the database each time costs it about
ten times what everything else it does costs (decision 0022). So search reads the holds
from a copy kept per database and per span of time: the holds overlapping the window
widened to whole `BUCKET`s (one copy serves every window inside the same span; which of
them overlap the exact window, and which still hold at `now`, is worked out per search).

A copy lives `TTL_S` seconds, and is dropped at once when the write path says it has
committed a change to reservations (`HoldsCopy.reservations_written`). A booking made by
another process shows in this one's search within `TTL_S`. That is acceptable because
search only informs: the database's own check when a bay is held is what guarantees no
double booking, never a free-bay count (decision 0011). The bay picker (`meter_detail`)
and booking read the database directly.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shahr.kernel.db import Database
from shahr.parking.domain import TimeWindow
from shahr.parking.persistence import Hold, holds_between

# How long a copy answers unless the write path drops it sooner.
TTL_S = 1.0
# Windows are widened to whole buckets, so that nearby windows share a copy.
BUCKET = timedelta(minutes=15)
# Copies kept per database (distinct spans asked for within `TTL_S`); all dropped when full.
MAX_SPANS = 256

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A copy: the generation it was fetched at, when (monotonic), and the holds by meter id.
_Kept = tuple[int, float, dict[int, list[Hold]]]


class HoldsCopy:
    """The holds on one database's bays, per widened window, for search (see the module)."""

    def __init__(self) -> None:
        self.generation = 0
        # span -> its copy
        self._spans: dict[tuple[datetime, datetime], _Kept] = {}
        # (span, generation) -> the fetch under way: searches that find the copy expired
        # at the same moment share one query instead of each sending its own (decision
        # 0022). A fetch begun before the latest reported write may miss it, so it is not
        # shared after.
        self._fetching: dict[tuple[tuple[datetime, datetime], int], asyncio.Task[_Kept]] = {}

    def reservations_written(self) -> None:
        """Drop every copy: the caller has just committed a change to reservations.

        A fetch under way began before the change, so its answer is not kept either.
        """
        self.generation += 1
        self._spans.clear()

    async def held(
        self, database: Database, meter_ids: Sequence[int], window: TimeWindow, *, now: datetime
    ) -> set[int]:
        """The bays of these meters held over any part of the window (as `held_bays`)."""
        if not meter_ids:
            return set()
        span = _widened(window)
        kept = self._spans.get(span)
        if kept is None or kept[0] != self.generation or time.monotonic() - kept[1] >= TTL_S:
            kept = await self._fetch_shared(database, span)
        by_meter = kept[2]
        held: set[int] = set()
        for meter_id in meter_ids:
            holds = by_meter.get(meter_id)
            if holds is None:
                continue
            for hold in holds:
                held_span = hold.held(now)
                if held_span is not None and held_span.overlaps(window):
                    held.add(hold.bay_id)
        return held

    async def _fetch_shared(self, database: Database, span: tuple[datetime, datetime]) -> _Kept:
        """The span's holds from the database, one query at a time per span and generation.

        The query runs as a task of its own, so a search that gives up waiting (its client
        left) does not cancel it for the others.
        """
        key = (span, self.generation)
        fetch = self._fetching.get(key)
        if fetch is None:
            fetch = self._fetching[key] = asyncio.create_task(self._fetch(database, span))
            fetch.add_done_callback(lambda done: self._fetch_ended(key, done))
        return await asyncio.shield(fetch)

    def _fetch_ended(
        self, key: tuple[tuple[datetime, datetime], int], fetch: asyncio.Task[_Kept]
    ) -> None:
        if self._fetching.get(key) is fetch:
            del self._fetching[key]
        if not fetch.cancelled():
            fetch.exception()  # seen by whoever waited; retrieved here in case none did

    async def _fetch(self, database: Database, span: tuple[datetime, datetime]) -> _Kept:
        generation, fetched_at = self.generation, time.monotonic()
        by_meter: dict[int, list[Hold]] = {}
        for hold in await holds_between(database, *span):
            by_meter.setdefault(hold.meter_id, []).append(hold)
        kept = (generation, fetched_at, by_meter)
        # A write reported while the query ran leaves the copy unkept: the next search asks again.
        if generation == self.generation:
            if len(self._spans) >= MAX_SPANS:
                self._spans.clear()
            self._spans[span] = kept
        return kept


@functools.lru_cache(maxsize=4_096)
def _widened(window: TimeWindow) -> tuple[datetime, datetime]:
    """The window grown outwards to whole buckets (UTC): holds overlapping the window are
    among those overlapping this span. Kept per window because searches repeat a few."""
    start = window.starts_at - (window.starts_at - _EPOCH) % BUCKET
    end = window.ends_at + (-(window.ends_at - _EPOCH)) % BUCKET
    return start, end


_of_database: weakref.WeakKeyDictionary[Database, HoldsCopy] = weakref.WeakKeyDictionary()


def holds_copy_of(database: Database) -> HoldsCopy:
    """The database's copy of the holds, made at the first search and gone with the database."""
    found = _of_database.get(database)
    if found is None:
        found = _of_database[database] = HoldsCopy()
    return found
