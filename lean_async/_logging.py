"""`LEAN_LOG` support: turn on lean-async's own log lines without touching logging config."""

from __future__ import annotations

import logging
import os

from lean_async._config import ENV_LOG

__all__ = ["logger", "setup_from_env"]

logger = logging.getLogger("lean_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_handler: logging.Handler | None = None


def setup_from_env() -> None:
    """Honour ``LEAN_LOG=debug|info``: set the level and add one stderr handler.

    Log lines carry metadata only (method, path, status, attempt, idempotency key);
    the API key and bodies never reach them.
    """
    global _handler
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    if level is None:
        return
    logger.setLevel(level)
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(_handler)
