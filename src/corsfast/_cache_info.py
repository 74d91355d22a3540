"""The type `cache_info()` returns, shared by both engines so that they answer with the same type."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ("CacheInfo",)


class CacheInfo(NamedTuple):
    """Origin-match cache statistics, as `functools.lru_cache` reports them.

    `hits` and `misses` count the lookups since the cache was created or last cleared,
    `maxsize` is the bound (`cache_size`; 0 disables the cache) and `currsize` the number of
    origins it holds now.
    """

    hits: int
    misses: int
    maxsize: int
    currsize: int
