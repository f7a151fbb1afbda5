"""A webhook receiver process for bench_webhooks.py: the SDK's integration, counting.

    python benchmarks/_webhook_receiver.py fastapi|aiohttp PORT API_KEY [REDIS_URL]

``POST /hook`` is `webhook_router` (FastAPI under uvicorn) or `webhook_handler`
(aiohttp), de-duplicating in memory or, with *REDIS_URL*, in Redis; the handler counts
each event id it is called for. ``GET /stats`` answers ``{"handled": calls,
"distinct": distinct event ids}``: equal when no event was handled twice.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from lean_async.models import WebhookEvent
from lean_async.webhooks import DedupStore, MemoryDedupStore

calls: Counter[str] = Counter()


async def record(event: WebhookEvent) -> None:
    """Count one call of the handler for *event*."""
    calls[event.id] += 1


def stats() -> dict[str, int]:
    """Return the counts ``GET /stats`` answers."""
    return {"handled": sum(calls.values()), "distinct": len(calls)}


def store(redis_url: str | None, kind: str) -> tuple[DedupStore, Any]:
    """Return the de-dup store (its Redis keys apart per *kind*), and the Redis client."""
    if redis_url is None:
        return MemoryDedupStore(), None
    import redis.asyncio as aioredis

    from lean_async.webhooks.redis import RedisDedupStore

    client = aioredis.Redis.from_url(redis_url)
    return RedisDedupStore(client, prefix=f"bench:webhook:{kind}:"), client


def serve_fastapi(port: int, api_key: str, redis_url: str | None) -> None:
    """Serve webhook_router under uvicorn until SIGTERM."""
    import uvicorn
    from fastapi import FastAPI

    from lean_async.webhooks.fastapi import webhook_router

    dedup, _ = store(redis_url, "fastapi")
    app = FastAPI()
    app.include_router(webhook_router(api_key=api_key, handler=record, store=dedup, path="/hook"))
    app.add_api_route("/stats", stats, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=1024)


def serve_aiohttp(port: int, api_key: str, redis_url: str | None) -> None:
    """Serve webhook_handler on aiohttp until SIGTERM."""
    from aiohttp import web

    from lean_async.webhooks.aiohttp import webhook_handler

    dedup, _ = store(redis_url, "aiohttp")

    async def get_stats(_: web.Request) -> web.Response:
        return web.json_response(stats())

    app = web.Application()
    app.router.add_post("/hook", webhook_handler(api_key=api_key, handler=record, store=dedup))
    app.router.add_get("/stats", get_stats)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    kind, port_text, key = sys.argv[1:4]
    url = sys.argv[4] if len(sys.argv) > 4 else None
    serve = serve_fastapi if kind == "fastapi" else serve_aiohttp
    serve(int(port_text), key, url)
