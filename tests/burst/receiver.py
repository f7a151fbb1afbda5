"""A webhook receiver process for the burst tests: the SDK's aiohttp handler, counting.

    python -m tests.burst.receiver PORT API_KEY [--delay SECONDS]

``POST /hook`` verifies and de-duplicates each delivery (`webhook_handler`, memory
store); the handler waits *delay* seconds (a slow receiver) and records the event id.
``GET /stats`` answers ``{"events": <distinct events handled>, "posts": <requests>}``.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from lean_async.models import WebhookEvent
from lean_async.webhooks.aiohttp import webhook_handler


def app(api_key: str, delay: float) -> web.Application:
    """Return the receiver's application."""
    seen: set[str] = set()
    posts = 0

    async def record(event: WebhookEvent) -> None:
        if delay:
            await asyncio.sleep(delay)
        seen.add(event.id)

    hook = webhook_handler(api_key=api_key, handler=record)

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal posts
        posts += 1
        return await hook(request)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"events": len(seen), "posts": posts})

    application = web.Application()
    application.router.add_post("/hook", counted)
    application.router.add_get("/stats", stats)
    return application


def main() -> None:
    """Serve on 127.0.0.1 until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("api_key")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(
        app(args.api_key, args.delay),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        backlog=1024,
    )


if __name__ == "__main__":
    main()
