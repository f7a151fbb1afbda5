"""The pacing goal, scaled down, against a real ``lean-async sandbox --rate-limit`` process.

The full goal (a 20,000-gig ``create_many`` at concurrency 64, then 4 processes sharing a
`RedisRateLimiter`) is ``make pace``. Here: 6,000 gigs at L = 200 from one default
client, and 3,000 gigs at L = 100 from 4 processes sharing Redis, each under a minute.
The first throttled answer costs up to the concurrency in 429s (that many requests were
already in flight), which a 20,000-gig run spreads thin; the bounds below allow for it once.
Six runs alone of the one-client test: 53-79 429s (bound 124) at 1.01-1.03 L. Five runs
alone of the 4-process test: 10-14 429s (bound 75, was 94) at 0.90-0.95 L. Its bound is
2.5 %, not 1 %: on a loaded machine the end of the shared slow start (the pace ~1.5 L when
the sandbox's one-second burst runs out) can cost most of the requests in flight then,
which the in-flight cap holds to 4 x 0.1 s of the pace (~60 here) rather than 4 x 64.
"""

from __future__ import annotations

import shutil

import pytest

from tests.ratelimit.pace import CONCURRENCY, run


def test_one_default_client_paces_itself_to_the_limit() -> None:
    """6,000 gigs at L = 200: all paid once, >= 0.85 L, 429s <= 1% + the first burst."""
    report = run(200, 6000)
    assert report.ok == report.in_sandbox == 6000, report.lines()
    assert report.failed == report.duplicates == 0, report.lines()
    assert report.throughput >= 0.85 * 200, report.lines()
    assert report.throttled <= CONCURRENCY + 0.01 * 6000, report.lines()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_four_processes_share_one_budget_through_redis(redis_url: str) -> None:
    """3,000 gigs over 4 processes at L = 100: all paid once, together >= 0.85 L, 429s <=
    2.5 % (the end of the shared slow start costs at most the requests the in-flight cap
    lets be in flight then, 4 x 0.1 s of the pace)."""
    report = run(100, 3000, processes_=4, redis_url=redis_url)
    assert report.ok == report.in_sandbox == 3000, report.lines()
    assert report.failed == report.duplicates == 0, report.lines()
    assert report.throughput >= 0.85 * 100, report.lines()
    assert report.throttled <= 0.025 * 3000, report.lines()
