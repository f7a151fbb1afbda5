"""The Application API: sandbox only."""

from __future__ import annotations

import json

import pytest
import respx

from lean_async import (
    Application,
    ApplicationStatus,
    LeanClient,
    SandboxOnlyError,
    ValidationError,
)
from tests.resources.conftest import KEY


async def test_submit_posts_the_partner_user_id(lean: LeanClient, api: respx.MockRouter) -> None:
    """submit POSTs {"partnerUserId": ...} (not the reference's partnerUserID typo)."""
    route = api.post("/application").respond(
        200, json={"status": "submitted", "partnerUserId": "uid_1"}
    )
    application = await lean.applications.submit("uid_1")
    assert json.loads(route.calls.last.request.content) == {"partnerUserId": "uid_1"}
    assert application == Application(partner_user_id="uid_1", status=ApplicationStatus.SUBMITTED)


async def test_submit_is_refused_in_production_without_sending() -> None:
    """In production submit raises SandboxOnlyError and sends nothing."""
    with respx.mock(assert_all_called=False) as router:
        route = router.route()
        async with LeanClient(api_key=KEY, environment="production") as lean:
            with pytest.raises(SandboxOnlyError):
                await lean.applications.submit("uid_1")
        assert not route.called


async def test_submit_refuses_a_lone_surrogate(lean: LeanClient, api: respx.MockRouter) -> None:
    """An id UTF-8 cannot encode is a ValidationError naming it; nothing is sent."""
    with pytest.raises(ValidationError) as info:
        await lean.applications.submit("\ud800")
    assert [field for field, _ in info.value.errors] == ["partner_user_id"]
    assert api.calls.call_count == 0
