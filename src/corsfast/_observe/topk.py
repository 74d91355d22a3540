"""`TopK`: the most frequent keys of an unbounded stream in bounded memory (space-saving)."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ("TopK",)

K = TypeVar("K", bound=Hashable)


class TopK(Generic[K]):
    """Counts of the `k` most frequent keys added, in memory that never grows past `k` keys.

    The space-saving algorithm (Metwally, Agrawal and El Abbadi, 2005): while fewer than `k`
    keys are kept, a new key is kept with its count; once `k` are kept, a new key takes the
    place of the least counted one and inherits its count. A kept count is therefore never
    below the key's true count, and at most the count it inherited above it; any key whose
    true count is more than the total divided by `k` is kept. Safe to share between threads
    (one lock, taken on `add`, `items` and `clear` only).
    """

    __slots__ = ("_counts", "_k", "_lock")

    def __init__(self, k: int = 32) -> None:
        if type(k) is not int or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self._k = k
        self._counts: dict[K, int] = {}
        self._lock = threading.Lock()

    @property
    def k(self) -> int:
        """Return how many keys are kept at most."""
        return self._k

    def add(self, key: K, count: int = 1) -> None:
        """Count `key` `count` more times."""
        if count <= 0:
            return
        with self._lock:
            counts = self._counts
            if key in counts:
                counts[key] += count
            elif len(counts) < self._k:
                counts[key] = count
            else:
                smallest = min(counts, key=counts.__getitem__)
                counts[key] = counts.pop(smallest) + count

    def items(self) -> tuple[tuple[K, int], ...]:
        """Return the kept keys and their counts, the most counted first (ties: first kept first)."""
        with self._lock:
            kept = list(self._counts.items())
        kept.sort(key=lambda item: -item[1])
        return tuple(kept)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._counts = {}

    def __len__(self) -> int:
        return len(self._counts)
