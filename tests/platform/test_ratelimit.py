"""The per-token request budget, on a clock the test holds (no sleeping, no timing)."""

from __future__ import annotations

from hub.api.ratelimit import TokenBuckets


def test_a_token_may_send_its_burst_then_waits_for_the_bucket_to_refill():
    buckets = TokenBuckets()
    assert [buckets.take(1, per_second=2, burst=3, now=10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(1, per_second=2, burst=3, now=10.0) == 0.5  # one more comes in half a second
    assert buckets.take(2, per_second=2, burst=3, now=10.0) == 0.0  # another token has its own bucket
    assert buckets.take(1, per_second=2, burst=3, now=10.5) == 0.0
    assert buckets.take(1, per_second=2, burst=3, now=10.5) == 0.5
    # Idle a long while: the bucket holds at most its burst, not everything the pause earned.
    assert [buckets.take(1, per_second=2, burst=3, now=100.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
