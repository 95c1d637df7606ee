"""Place search: districts, zones, metro stations and streets, found by Persian or English name.

Built once in memory from the city's data (a few hundred names in the demo, tens of
thousands in a city with every street): the names' keys are joined into one string that
`str.find` scans for the query's rarest word, and only the places holding it are ranked
(bench/places_search.py has the figures).
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import normalise

MAX_QUERY_CHARS = 100


class PlaceKind(StrEnum):
    """What a place is; the order is the tie-break when two names match equally well."""

    district = "district"
    metro_station = "metro_station"
    zone = "zone"
    street = "street"


KIND_ORDER = {kind: rank for rank, kind in enumerate(PlaceKind)}


class Match(StrEnum):
    """How well a name matches, best first."""

    exact = "exact"
    prefix = "prefix"
    word_prefix = "word_prefix"
    infix = "infix"


MATCH_ORDER = {match: rank for rank, match in enumerate(Match)}

# Letters a Persian keyboard user may type for one another: alef with hamza or madda, Arabic
# teh marbuta and waw with hamza. Only the search keys fold them; names are shown as given.
_FOLD = str.maketrans({"آ": "ا", "أ": "ا", "إ": "ا", "ٱ": "ا", "ة": "ه", "ؤ": "و", "ئ": "ی"})
# Zero-width non-joiner, hyphens and dots separate words as a space does.
_SEPARATORS = str.maketrans({"\u200c": " ", "-": " ", "‐": " ", ".": " ", "،": " ", ",": " "})


def search_words(text: str) -> tuple[str, ...]:
    """The words of `text` as search compares them: Persian letters and ASCII digits, no
    diacritics or tatweel, case folded, alef forms folded, ZWNJ and hyphens as spaces."""
    text = normalise(text).translate(_SEPARATORS).translate(_FOLD).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char for char in decomposed if not unicodedata.combining(char) and char != "\u0640"
    )
    return tuple(kept.split())


@dataclass(frozen=True)
class Place:
    """A place a map can fly to: its names, a point, and the box it covers if it has one."""

    kind: PlaceKind
    name_fa: str
    name_en: str
    lon: float
    lat: float
    # [min_lon, min_lat, max_lon, max_lat], for places bigger than a point.
    bbox: tuple[float, float, float, float] | None = None
    district: int | None = None
    metro_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Found:
    place: Place
    match: Match


@dataclass(frozen=True)
class _Entry:
    place: Place
    words: tuple[str, ...]
    joined: str  # the words with no spaces: "ایران زمین" and "ایرانزمین" find each other
    order: int


def _best_match(words: tuple[str, ...], joined: str, entry: _Entry) -> Match | None:
    key = entry.joined
    if joined == key:
        return Match.exact
    if key.startswith(joined):
        return Match.prefix
    # Plain loops: this runs for every candidate of every keystroke.
    for word in words:
        if word not in key:
            return None
    for word in words:
        for own in entry.words:
            if own.startswith(word):
                break
        else:
            return Match.infix
    return Match.word_prefix


class PlaceIndex:
    """Every place's names as search keys, ranked by match, then kind, then shortness.

    The keys are also joined into one string, so the places that hold the query's rarest
    word are found by `str.find` (C speed) and only those are ranked.
    """

    def __init__(self, places: Iterable[Place]) -> None:
        self.places = tuple(places)
        entries: list[_Entry] = []
        for order, place in enumerate(self.places):
            for name in dict.fromkeys((place.name_fa, place.name_en)):
                words = search_words(name)
                if words:
                    entries.append(_Entry(place, words, "".join(words), order))
        self._entries = entries
        self._haystack = "\0".join(entry.joined for entry in entries)
        self._starts: list[int] = list(
            itertools.accumulate((len(e.joined) + 1 for e in entries[:-1]), initial=0)
        )
        self.size = len(self.places)

    def _holding(self, word: str) -> Iterator[_Entry]:
        """The entries whose key holds `word`, each once, in order."""
        haystack, starts = self._haystack, self._starts
        position = haystack.find(word)
        while position != -1:
            at = bisect.bisect_right(starts, position) - 1
            yield self._entries[at]
            following = at + 1
            if following == len(starts):
                return
            position = haystack.find(word, starts[following])

    def search(self, query: str, *, limit: int = 10) -> list[Found]:
        """The places whose Persian or English name matches `query`, best first, each once."""
        words = search_words(query)
        if not words:
            return []
        joined = "".join(words)
        # Seed with the query's rarest word (counting is C speed too): «خیابان» is in most
        # street names, «ولیعصر» in a few.
        rarest = min(dict.fromkeys(words), key=self._haystack.count)
        best: dict[int, tuple[tuple[int, int, int, int], Found]] = {}
        for entry in self._holding(rarest):
            match = _best_match(words, joined, entry)
            if match is None:
                continue
            rank = (
                MATCH_ORDER[match],
                KIND_ORDER[entry.place.kind],
                len(entry.joined),
                entry.order,
            )
            kept = best.get(entry.order)
            if kept is None or rank < kept[0]:
                best[entry.order] = (rank, Found(entry.place, match))
        ranked = sorted(best.values(), key=lambda pair: pair[0])
        return [found for _, found in ranked[:limit]]


class PlaceQueryError(DomainError):
    """A place search that cannot be run: nothing to look for, or far too much."""


def checked_query(query: str) -> str:
    """The query as typed, refused if it holds no letter or digit or is over the limit."""
    if len(query) > MAX_QUERY_CHARS:
        raise PlaceQueryError(
            "Type at most {limit} characters to search for a place; this was {length}.",
            field="q",
            limit=MAX_QUERY_CHARS,
            length=len(query),
        )
    if not search_words(query):
        raise PlaceQueryError("Type the name of a place to search for.", field="q")
    return query
