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
from lean_async.transport.pacing import PacingTransport
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
    "PacingTransport",
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
    # AiohttpTransport is imported on first use, as LeanClient does: importing aiohttp
    # costs more than the rest of lean_async, and a client on httpx never needs it.
    if name == "AiohttpTransport":
        from lean_async.transport._aiohttp import AiohttpTransport as AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
