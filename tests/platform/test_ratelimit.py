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


def test_addresses_that_come_and_go_are_not_kept_for_ever():
    # The public directory limits each client address; addresses are not a fixed set as tokens are.
    buckets = TokenBuckets()
    for n in range(10_001):
        buckets.take(f"client:10.0.{n // 256}.{n % 256}", per_second=1, burst=5, now=0.0)
    buckets.take("client:10.9.9.9", per_second=1, burst=5, now=0.5)  # too soon: none is full yet
    assert len(buckets._buckets) == 10_002
    assert buckets.take("client:10.0.0.1", per_second=1, burst=5, now=60.0) == 0.0
    assert len(buckets._buckets) == 1, "the buckets that filled up again were dropped"
