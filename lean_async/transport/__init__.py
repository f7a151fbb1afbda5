"""The transport stack: small `httpx.AsyncBaseTransport` layers, each wrapping the next.

`build_stack` composes them (its docstring draws the order); each layer can also be
used alone. Per-request settings travel in ``request.extensions``; see `extensions`.
"""

import typing

from lean_async.transport import extensions
from lean_async.transport._budget import RetryBudget
from lean_async.transport._headers import parse_retry_after
from lean_async.transport._policy import (
    DeadlineExceeded,
    RetryDetails,
    RetryPolicy,
    is_testing,
    set_testing,
)
from lean_async.transport.auth import AuthTransport
from lean_async.transport.errors import ErrorsTransport
from lean_async.transport.idempotency import IDEMPOTENCY_HEADER, IdempotencyTransport
from lean_async.transport.limit import ResponseLimitTransport
from lean_async.transport.retry import RetryTransport
from lean_async.transport.stack import build_stack

if typing.TYPE_CHECKING:
    from lean_async.transport._aiohttp import AiohttpTransport as AiohttpTransport

__all__ = [
    "IDEMPOTENCY_HEADER",
    "AuthTransport",
    "DeadlineExceeded",
    "ErrorsTransport",
    "IdempotencyTransport",
    "ResponseLimitTransport",
    "RetryBudget",
    "RetryDetails",
    "RetryPolicy",
    "RetryTransport",
    "build_stack",
    "extensions",
    "is_testing",
    "parse_retry_after",
    "set_testing",
]


def __getattr__(name: str) -> object:
    # AiohttpTransport imports aiohttp, an optional extra: only when asked for. It stays
    # out of __all__ so that a star import works without the extra.
    if name == "AiohttpTransport":
        try:
            from lean_async.transport._aiohttp import AiohttpTransport as AiohttpTransport
        except ImportError as exc:
            raise ImportError(
                "AiohttpTransport needs aiohttp: pip install 'lean-async[aiohttp]'"
            ) from exc
        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
