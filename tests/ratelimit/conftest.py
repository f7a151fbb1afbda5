"""Fixtures for the rate-limit tests: a real redis-server (skipped without one)."""

from tests.webhooks.conftest import redis_url

__all__ = ["redis_url"]
