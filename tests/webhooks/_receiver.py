"""A webhook receiver process for the multi-process Redis test.

    python -m tests.webhooks._receiver fastapi|aiohttp PORT REDIS_URL

Both kinds share one `RedisDedupStore`; the handler appends each event id it processes
to the Redis list ``processed`` (after a short pause, to widen any race window).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from lean_async.models import WebhookEvent
from lean_async.webhooks.redis import RedisDedupStore

API_KEY = "test_webhook_key"
PROCESSED = "processed"


def serve_fastapi(port: int, redis_url: str) -> None:
    """Serve the FastAPI receiver on 127.0.0.1:*port* until SIGTERM."""
    import uvicorn
    from fastapi import FastAPI

    from lean_async.webhooks.fastapi import webhook_router

    client = aioredis.Redis.from_url(redis_url)

    async def record(event: WebhookEvent) -> None:
        await asyncio.sleep(0.02)
        await client.rpush(PROCESSED, f"{event.id} fastapi")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)
    store = RedisDedupStore(client, prefix="test:webhook:")
    app.include_router(webhook_router(api_key=API_KEY, handler=record, store=store))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def serve_aiohttp(port: int, redis_url: str) -> None:
    """Serve the aiohttp receiver on 127.0.0.1:*port* until SIGTERM."""
    from aiohttp import web

    from lean_async.webhooks.aiohttp import webhook_handler

    client = aioredis.Redis.from_url(redis_url)

    async def record(event: WebhookEvent) -> None:
        await asyncio.sleep(0.02)
        await client.rpush(PROCESSED, f"{event.id} aiohttp")

    async def close_redis(app: web.Application) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = web.Application()
    app.cleanup_ctx.append(close_redis)
    store = RedisDedupStore(client, prefix="test:webhook:")
    app.router.add_post(
        "/webhooks/lean", webhook_handler(api_key=API_KEY, handler=record, store=store)
    )
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    kind, port_text, url = sys.argv[1:4]
    {"fastapi": serve_fastapi, "aiohttp": serve_aiohttp}[kind](int(port_text), url)
