"""Place search: districts, zones, metro stations and streets, found by Persian or English name.

Built once in memory from the city's data (a few hundred names) and scanned per query: a
linear pass over precomputed keys answers in microseconds (bench/places_search.py), simpler
than any index and exact.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
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
    if joined == entry.joined:
        return Match.exact
    if entry.joined.startswith(joined):
        return Match.prefix
    if all(any(word.startswith(w) for word in entry.words) for w in words):
        return Match.word_prefix
    if joined in entry.joined or all(w in entry.joined for w in words):
        return Match.infix
    return None


class PlaceIndex:
    """Every place's names as search keys, ranked by match, then kind, then shortness."""

    def __init__(self, places: Iterable[Place]) -> None:
        entries: list[_Entry] = []
        for order, place in enumerate(places):
            names = {place.name_fa, place.name_en} - {""}
            for name in names:
                words = search_words(name)
                if words:
                    entries.append(_Entry(place, words, "".join(words), order))
        self._entries = entries
        self.size = len({id(entry.place) for entry in entries})

    def search(self, query: str, *, limit: int = 10) -> list[Found]:
        """The places whose Persian or English name matches `query`, best first, each once."""
        words = search_words(query)
        if not words:
            return []
        joined = "".join(words)
        best: dict[int, tuple[tuple[int, int, int, int], Found]] = {}
        for entry in self._entries:
            match = _best_match(words, joined, entry)
            if match is None:
                continue
            rank = (
                MATCH_ORDER[match],
                KIND_ORDER[entry.place.kind],
                len(entry.joined),
                entry.order,
            )
            kept = best.get(id(entry.place))
            if kept is None or rank < kept[0]:
                best[id(entry.place)] = (rank, Found(entry.place, match))
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
