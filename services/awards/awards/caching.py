"""A per-process cache of live rankings: they may lag the events by `RANKINGS_CACHE_SECONDS`."""

from __future__ import annotations

from cachetools import TTLCache
from nameko.extensions import DependencyProvider

from chassis.config import setting


class RankingCache(DependencyProvider):
    def setup(self) -> None:
        ttl = float(self.container.config.get("RANKINGS_CACHE_SECONDS", setting("RANKINGS_CACHE_SECONDS")))
        self.cache: TTLCache | None = TTLCache(maxsize=2048, ttl=ttl) if ttl > 0 else None

    def get_dependency(self, worker_ctx) -> TTLCache | None:  # type: ignore[no-untyped-def]
        return self.cache
