"""Requests per API token (and per client address, where no token is asked): a token bucket each, answering 429.

One association's hub stuck in a loop must not take the platform's store from the others.
Each token may send ``burst`` requests at once and ``per_second`` on average after that; a
request over it gets 429 with ``Retry-After``, which the ``wasl`` and ``rest`` connectors
honour before they try again. The buckets live in the serving process: a platform served by
several ``hub serve`` processes lets each token that much per process (the limit is there to
stop a runaway client, not to meter a fair share exactly).
"""

from __future__ import annotations

import threading
import time

__all__ = ["TokenBuckets"]

_MOST = 10_000  # buckets kept before the full ones are dropped


class TokenBuckets:
    """How many requests each token may still send now; thread-safe (dependencies run in a pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # token id, or "client:ADDRESS" -> (requests left, when counted)
        self._buckets: dict[int | str, tuple[float, float]] = {}

    def take(self, caller: int | str, per_second: float, burst: int, now: float | None = None) -> float:
        """Take one request from the caller's bucket: 0.0 if it may go, else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) > _MOST:
                self._forget_full(now, per_second, burst)
            left, at = self._buckets.get(caller, (float(burst), now))
            left = min(float(burst), left + (now - at) * per_second)
            if left >= 1.0:
                self._buckets[caller] = (left - 1.0, now)
                return 0.0
            self._buckets[caller] = (left, now)
            return (1.0 - left) / per_second

    def _forget_full(self, now: float, per_second: float, burst: int) -> None:
        """Drop the buckets that have filled up again: a caller that comes back starts full anyway.

        Client addresses are not a fixed set as tokens are; without this, every address that
        ever asked would be kept for the life of the process.
        """
        self._buckets = {k: (left, at) for k, (left, at) in self._buckets.items() if left + (now - at) * per_second < burst}
