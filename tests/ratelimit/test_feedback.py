"""What an answer says about the server's rate limit."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async.ratelimit import SUCCESS, Feedback, feedback_from


def _answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_a_plain_answer_is_the_shared_success() -> None:
    """An answer without rate-limit signals is SUCCESS itself (no object per call)."""
    assert feedback_from(_answer(200)) is SUCCESS
    assert feedback_from(_answer(500)) is SUCCESS
    assert feedback_from(_answer(503)) is SUCCESS  # no Retry-After: an outage, not a limit


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_answer(429), Feedback(throttled=True)),
        (_answer(429, Retry_After="1"), Feedback(throttled=True)),
        (_answer(503, Retry_After="2"), SUCCESS),  # an outage: its retry waits, not the pace
        (_answer(200, RateLimit_Policy="200;w=2"), Feedback(limit=100.0)),
        (_answer(200, RateLimit_Limit="50"), Feedback(limit=50.0)),
        (_answer(200, X_RateLimit_Limit="30"), Feedback(limit=30.0)),
        (
            _answer(429, RateLimit_Remaining="0", RateLimit_Reset="3"),
            Feedback(throttled=True, reset=3.0),
        ),
        (_answer(200, RateLimit_Remaining="0", RateLimit_Reset="1700000000"), SUCCESS),
        (_answer(200, RateLimit_Remaining="5", RateLimit_Reset="3"), SUCCESS),
        (_answer(200, RateLimit_Limit="lots"), SUCCESS),
        (_answer(200, RateLimit_Policy="0;w=1"), SUCCESS),
    ],
)
def test_signals_are_read(answer: httpx.Response, expected: Feedback) -> None:
    """429, 503 + Retry-After, the announced limit and a reset are each recognised."""
    assert feedback_from(answer) == expected


def test_announces_says_whether_headers_are_worth_reading() -> None:
    """A limit or a reset announces; a bare 429 does not."""
    assert Feedback(limit=5.0).announces
    assert Feedback(reset=1.0).announces
    assert not Feedback(throttled=True).announces


@given(
    st.dictionaries(
        st.sampled_from(
            ["ratelimit-policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    st.sampled_from([200, 429, 503]),
)
def test_any_header_values_never_raise(headers: dict[str, str], status: int) -> None:
    """Whatever the server puts in these headers, reading them returns a Feedback."""
    feedback = feedback_from(httpx.Response(status, headers=headers))
    assert isinstance(feedback, Feedback)
    assert feedback.limit is None or feedback.limit > 0
