"""The /_sandbox admin surface, which drives a sandbox served in another process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from lean_async.sandbox import ConnectionReset, DropAfterCommit, Latency, Sandbox, ServerError

from .conftest import KEY, customer_body, gig_body, serve_asgi
from .test_webhooks import Receiver


@pytest.fixture
async def admin(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw client on the sandbox's root, for /_sandbox/... paths."""
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://127.0.0.1/_sandbox", auth=(KEY, "")
    ) as client:
        yield client


async def test_admin_needs_the_key(sandbox: Sandbox) -> None:
    """Admin routes require the same Basic auth as the API."""
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        assert (await client.get("http://127.0.0.1/_sandbox/webhooks")).status_code == 401


async def test_register_webhook(admin: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """POST /_sandbox/webhooks registers a URL; GET lists them."""
    response = await admin.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert response.json() == {"urls": ["http://127.0.0.1:9/hook"]}
    assert sandbox.webhook_urls == ["http://127.0.0.1:9/hook"]
    assert (await admin.get("/webhooks")).json() == {"urls": ["http://127.0.0.1:9/hook"]}


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        (
            {"kind": "server_error", "status": 502, "retryAfter": 3},
            ServerError(status=502, retry_after=3),
        ),
        ({"kind": "server_error", "afterCommit": True}, ServerError(after_commit=True)),
        ({"kind": "latency", "seconds": 0.5}, Latency(0.5)),
        ({"kind": "reset"}, ConnectionReset()),
        ({"kind": "drop"}, DropAfterCommit()),
    ],
)
async def test_add_faults(
    admin: httpx.AsyncClient, sandbox: Sandbox, spec: dict[str, object], fault: object
) -> None:
    """POST /_sandbox/faults adds each kind of fault; DELETE clears them."""
    body = spec | {"route": "POST /gig", "times": 2, "skip": 1}
    response = await admin.post("/faults", json=body)
    assert response.json() == {"route": "POST /gig", "times": 2, "skip": 1}
    [rule] = sandbox.faults.rules
    assert rule.fault == fault
    assert (await admin.delete("/faults")).json() == {"rules": 0}
    assert sandbox.faults.rules == ()


async def test_requests_are_counted_by_route(admin: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """GET /_sandbox/requests counts the API requests by route, faulted ones too."""
    assert (await admin.get("/requests")).json() == {}
    sandbox.faults.add(ServerError(status=503), route="POST /gig", times=1)
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "")
    ) as api:
        await api.post("/customer", json=customer_body())
        assert (await api.post("/gig", json=gig_body(1))).status_code == 503
        assert (await api.post("/gig", json=gig_body(1))).status_code != 503
        await api.get("/gig/gig_1")
    counted = (await admin.get("/requests")).json()
    assert counted == {"POST /customer": 1, "POST /gig": 2, "GET /gig/{gigId}": 1}
    assert sandbox.faults.requests == counted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "meteor"}, "body"),
        ({"kind": "latency"}, "seconds"),
        ({"kind": "reset", "route": "GET /nowhere"}, "body"),
        ({"kind": "reset", "times": "x"}, "body"),
        ([1], "body"),
    ],
)
async def test_bad_fault_specs_are_400(admin: httpx.AsyncClient, body: object, field: str) -> None:
    """Malformed admin bodies are 400s naming the problem."""
    response = await admin.post("/faults", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_advance_and_customer_controls(admin: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """advance, activate, deactivate, fail-next and fail over HTTP."""
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "")
    ) as api:
        await api.post("/customer", json=customer_body())
        activated = await admin.post("/customers/uid_1/activate")
        assert activated.json()["status"] == "ACTIVE"
        assert (await admin.post("/fail-next", json={"count": 1})).json() == {"count": 1}
        await api.post("/gig", json=gig_body(1))
        await api.post("/gig", json=gig_body(2))
        assert (await admin.post("/payments/gig_2/fail")).json()["gigId"] == "gig_2"
        advanced = await admin.post("/advance", json={"seconds": 1})
        assert advanced.json() == {"now": "2025-01-01T00:00:01.000Z"}
        assert (await admin.post("/advance")).status_code == 200
        assert [g.status for g in sandbox.gigs.values()] == ["FAILED", "FAILED"]
        assert (await admin.post("/payments/gig_2/fail")).status_code == 409
        assert (await admin.post("/payments/nope/fail")).status_code == 404
        deactivated = await admin.post("/customers/uid_1/deactivate")
        assert deactivated.json()["status"] == "INACTIVE"
        assert (await admin.post("/customers/ghost/activate")).status_code == 404
        assert (await admin.post("/customers/ghost/deactivate")).status_code == 404
        assert (await admin.post("/fail-next", json={})).status_code == 400


async def test_advance_on_a_real_clock_is_409() -> None:
    """A real-clock sandbox refuses /_sandbox/advance with 409."""
    async with (
        Sandbox(api_key=KEY) as box,
        httpx.AsyncClient(transport=box.transport(), auth=(KEY, "")) as client,
    ):
        response = await client.post("http://127.0.0.1/_sandbox/advance", json={"seconds": 1})
    assert response.status_code == 409


async def test_deliveries_log(admin: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """GET /_sandbox/deliveries lists every attempt with its outcome."""
    receiver = Receiver(fail=1)
    async with serve_asgi(receiver) as url:
        await admin.post("/webhooks", json={"url": url})
        async with httpx.AsyncClient(
            transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "")
        ) as api:
            await api.post("/customer", json=customer_body())
        await admin.post("/customers/uid_1/activate")
        await admin.post("/advance", json={"seconds": 1})
    rows = (await admin.get("/deliveries")).json()
    assert [(r["attempt"], r["statusCode"], r["outcome"]) for r in rows] == [
        (1, 500, "retrying"),
        (2, 200, "delivered"),
    ]
    assert rows[0]["eventType"] == "customer.active"
    assert rows[0]["destination"] == url
    assert rows[0]["eventId"].startswith("evt_")
    assert rows[0]["error"] is None
    assert rows[1]["at"] == "2025-01-01T00:00:00.500Z"


async def test_unknown_admin_routes_are_404(admin: httpx.AsyncClient) -> None:
    """Unknown admin paths and methods are 404."""
    assert (await admin.get("/nothing")).status_code == 404
    assert (await admin.delete("/webhooks")).status_code == 404
    assert (await admin.post("/webhooks", content=b"{")).status_code == 400


@pytest.mark.parametrize("path", ["", "/"])
async def test_index_lists_every_control_route(admin: httpx.AsyncClient, path: str) -> None:
    """GET /_sandbox lists each control route with its method, path and purpose."""
    response = await admin.get(path)
    assert response.status_code == 200
    routes = response.json()["routes"]
    listed = {(r["method"], r["path"]) for r in routes}
    assert ("POST", "/_sandbox/webhooks") in listed
    assert ("POST", "/_sandbox/customers/{partnerUserId}/activate") in listed
    assert ("GET", "/_sandbox/deliveries") in listed
    assert len(listed) == len(routes) == 12
    assert all(r["description"] for r in routes)
    webhooks = next(
        r for r in routes if r["path"] == "/_sandbox/webhooks" and r["method"] == "POST"
    )
    assert '"url"' in webhooks["body"]


async def test_every_listed_route_is_served(admin: httpx.AsyncClient) -> None:
    """Every listed route reaches its handler: the index and the router are one table."""
    for route in (await admin.get("")).json()["routes"]:
        path = route["path"].removeprefix("/_sandbox")
        path = path.replace("{partnerUserId}", "nobody").replace("{id}", "nothing")
        response = await admin.request(route["method"], path)
        assert response.status_code != 405, route
        assert "GET /_sandbox lists" not in response.text, route


async def test_unknown_admin_route_points_at_the_index(admin: httpx.AsyncClient) -> None:
    """A 404 under /_sandbox says where the list of routes is."""
    response = await admin.get("/nothing-here")
    assert response.status_code == 404
    assert "GET /_sandbox lists" in response.json()["message"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/webhooks/lean", "must start with http:// or https://"),
        ("ftp://127.0.0.1/hook", "must start with http:// or https://"),
        ("http:///hook", "has no host"),
        (42, "must be a string"),
    ],
)
async def test_bad_webhook_url_is_a_400_with_the_reason(
    admin: httpx.AsyncClient, sandbox: Sandbox, url: object, reason: str
) -> None:
    """POST /_sandbox/webhooks refuses a URL that is not http(s) with a host, and says why."""
    response = await admin.post("/webhooks", json={"url": url})
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert response.json()["errors"][0]["field"] == "url"
    assert sandbox.webhook_urls == []
