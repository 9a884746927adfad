"""Requests per API token: a token bucket per token, kept in this process, answering 429.

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


class TokenBuckets:
    """How many requests each token may still send now; thread-safe (dependencies run in a pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # token id -> (requests left, when counted)

    def take(self, token_id: int, per_second: float, burst: int, now: float | None = None) -> float:
        """Take one request from the token's bucket: 0.0 if it may go, else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            left, at = self._buckets.get(token_id, (float(burst), now))
            left = min(float(burst), left + (now - at) * per_second)
            if left >= 1.0:
                self._buckets[token_id] = (left - 1.0, now)
                return 0.0
            self._buckets[token_id] = (left, now)
            return (1.0 - left) / per_second
