"""Maps wires its atlas and builds it as the process starts, so the first map is quick."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.maps.queries import ATLAS, AtlasCache


class _WarmAtlas:
    def __init__(self, atlas: AtlasCache) -> None:
        self._atlas = atlas

    async def start(self) -> None:
        await self._atlas.warm()

    async def stop(self) -> None:
        return None


def wire_maps(container: Container) -> None:
    atlas = AtlasCache(container.database)
    container.provide(ATLAS, atlas)
    container.background.append(_WarmAtlas(atlas))
