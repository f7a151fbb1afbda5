"""The demo flow's own checks: it reports failures instead of hiding them."""

from __future__ import annotations

from lean_async import LeanClient
from lean_async._demo import StepResult, _Flow, run_demo
from lean_async.sandbox import ManualClock, Sandbox
from lean_async.testing import signed_delivery


async def test_forged_webhooks_fail_the_demo() -> None:
    """A delivery signed with another key is refused and reported as a failed step."""
    async with (
        Sandbox(clock=ManualClock()) as sandbox,
        LeanClient(
            api_key=sandbox.api_key, base_url=sandbox.base_url, transport=sandbox.transport()
        ) as lean,
    ):
        flow = _Flow(lean, sandbox, sandbox.api_key)
        body, headers = signed_delivery({"event": "customer.active", "data": {}}, "sk_forger")
        assert await flow.receive(body, headers) == 401
        assert flow.webhook_failures


async def test_a_failing_first_step_stops_the_flow() -> None:
    """With a wrong key nothing can be created: one failed step, no tally."""
    reported: list[StepResult] = []
    async with (
        Sandbox(clock=ManualClock()) as sandbox,
        LeanClient(
            api_key="sk_wrong", base_url=sandbox.base_url, transport=sandbox.transport()
        ) as lean,
    ):
        results, payouts = await run_demo(lean, sandbox, sandbox.api_key, reported.append)
    assert [r.ok for r in results] == [False]
    assert "AuthenticationError" in results[0].detail
    assert reported == results
    assert payouts == []
