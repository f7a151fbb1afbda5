"""Hypothesis over every create's arguments, every identifier, server answers and webhooks.

``$CHAOS_EXAMPLES`` examples per property (default 50 here; ``make chaos`` runs 1,700).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.chaos import fuzz


@pytest.mark.parametrize("fuzzer", fuzz.FUZZERS, ids=lambda f: f.__name__)
def test_fuzz_gives_a_model_or_a_documented_error(fuzzer: Callable[..., fuzz.FuzzTally]) -> None:
    """Anything in gives a model or a documented `LeanError` out; nothing sent if invalid."""
    tally = fuzzer(fuzz.examples(), strict=True)
    assert tally.examples >= 1
    assert dict(tally.broken) == {}
