"""`LeanClient`: configuration, lifecycle, `with_options`, and the resource attributes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
import warnings
from collections.abc import Callable
from functools import cached_property
from typing import Any, Self, TypeVar

import httpx

from lean_async import _config, _logging
from lean_async._convert import StructureError, structure, structure_list
from lean_async._version import __version__
from lean_async.errors import APIResponseValidationError, LeanError
from lean_async.resources import Applications, Customers, Gigs, SpecialPayments
from lean_async.transport import IDEMPOTENCY_HEADER, RetryBudget, RetryPolicy, build_stack
from lean_async.transport import extensions as ext
from lean_async.transport._redact import Redactor
from lean_async.transport.errors import response_text

__all__ = ["LeanClient"]

T = TypeVar("T")
R = TypeVar("R")

_USER_AGENT = f"lean-async/{__version__}"


class _NotGiven:
    """Sentinel for "argument not passed" where `None` is a meaningful value."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


class _CallerClientTransport(httpx.AsyncBaseTransport):
    """Base of the stack that sends through a caller-owned `httpx.AsyncClient`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request)

    async def aclose(self) -> None:
        """Leave the caller's client open: its owner closes it."""


class _Pool:
    """What every `with_options` copy of one client shares: the stack and its pool."""

    __slots__ = ("closed", "http")

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.closed = False


class LeanClient:
    """An asyncio client for the Lean payouts API.

    Use it as ``async with LeanClient(...) as lean:`` or call `aclose` when done. One
    client holds one connection pool; share it across the tasks of an application.

    Args:
        api_key: your Lean API key; defaults to ``$LEAN_API_KEY``.
        environment: ``"sandbox"`` or ``"production"``; defaults to
            ``$LEAN_ENVIRONMENT``, else ``"sandbox"`` (production when *base_url* is
            the production URL).
        base_url: overrides the environment's URL (default ``$LEAN_BASE_URL``). Plain
            ``http://`` is refused unless the host is loopback.
        timeout: seconds (or an `httpx.Timeout`) for one attempt.
        max_retries: retries of one call after its first attempt.
        deadline: seconds for a whole call, retries and backoff included.
        http_client: a caller-owned `httpx.AsyncClient` to send through (not closed
            by this client).
        transport: replaces only the base of the stack (auth, idempotency, retry and
            error mapping still apply); e.g. ``Sandbox().transport()``.
        max_connections: connection pool size; idle connections are kept up to
            *max_keepalive_connections* (default: the same number).
        backoff_base: first retry backoff ceiling in seconds (full jitter).
        backoff_cap: largest retry backoff in seconds.
        max_response_bytes: the largest response body accepted, counted after
            decoding (default 64 MiB, enough for 100,000 gigs from a list call); a
            larger one raises `APIResponseValidationError` without being held whole.

    Raises:
        LeanError: no API key, an unknown environment, an unsafe base URL, or a
            *max_response_bytes* that is not a positive integer.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        environment: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = _config.DEFAULT_TIMEOUT,
        max_retries: int = _config.DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = _config.DEFAULT_MAX_CONNECTIONS,
        max_keepalive_connections: int | None = None,
        backoff_base: float = _config.DEFAULT_BACKOFF_BASE,
        backoff_cap: float = _config.DEFAULT_BACKOFF_CAP,
        max_response_bytes: int = _config.DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        _logging.setup_from_env()
        key = api_key if api_key is not None else os.environ.get(_config.ENV_API_KEY)
        if not key:
            raise LeanError(
                f"no API key: pass api_key= or set ${_config.ENV_API_KEY} "
                "(the key Lean gave you for this environment)"
            )
        if http_client is not None and transport is not None:
            raise LeanError("pass http_client= or transport=, not both")
        self._api_key = _config.Secret(key)
        self._redactor = Redactor(self._api_key)
        self._environment, self._base_url = _resolve_target(environment, base_url)
        self._timeout = timeout
        self._max_retries = _non_negative("max_retries", max_retries)
        self._deadline = deadline
        _at_least("max_response_bytes", max_response_bytes, 1)
        self._owner = True

        if http_client is not None:
            base: httpx.AsyncBaseTransport = _CallerClientTransport(http_client)
        elif transport is not None:
            base = transport
        else:
            keepalive = (
                max_connections
                if max_keepalive_connections is None
                else (max_keepalive_connections)
            )
            limits = httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=keepalive
            )
            base = httpx.AsyncHTTPTransport(limits=limits)
        policy = RetryPolicy(
            max_retries=self._max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap
        )
        stack = build_stack(
            base,
            api_key=self._api_key,
            policy=policy,
            budget=RetryBudget(),
            max_response_bytes=max_response_bytes,
        )
        self._pool = _Pool(
            http=httpx.AsyncClient(
                base_url=self._base_url,
                transport=stack,
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
                timeout=timeout,
            )
        )

    # -- configuration -----------------------------------------------------------

    @property
    def environment(self) -> _config.Environment:
        """The environment this client talks to."""
        return self._environment

    @property
    def base_url(self) -> str:
        """The base URL every path is relative to."""
        return self._base_url

    @property
    def timeout(self) -> float | httpx.Timeout | None:
        """The timeout of one attempt."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Retries allowed after the first attempt of a call."""
        return self._max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds allowed for a whole call, or None for no limit."""
        return self._deadline

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = NOT_GIVEN,
        max_retries: int = NOT_GIVEN,
        deadline: float | None = NOT_GIVEN,
    ) -> LeanClient:
        """Return a copy with other per-call settings that shares this connection pool.

        The copy does not own the pool: closing it leaves the pool open, and closing
        the original closes it for every copy.
        """
        copy = object.__new__(LeanClient)
        copy.__dict__.update(
            {k: v for k, v in self.__dict__.items() if not isinstance(v, _ResourceTypes)}
        )
        copy._owner = False
        if timeout is not NOT_GIVEN:
            copy._timeout = timeout
        if max_retries is not NOT_GIVEN:
            copy._max_retries = _non_negative("max_retries", max_retries)
        if deadline is not NOT_GIVEN:
            copy._deadline = deadline
        return copy

    # -- resources ---------------------------------------------------------------

    @cached_property
    def customers(self) -> Customers:
        """Register workers and read their status."""
        return Customers(self)

    @cached_property
    def applications(self) -> Applications:
        """Submit onboarding applications (sandbox only)."""
        return Applications(self)

    @cached_property
    def gigs(self) -> Gigs:
        """Pay for finished gigs."""
        return Gigs(self)

    @cached_property
    def special_payments(self) -> SpecialPayments:
        """Send ad-hoc payments and deductions."""
        return SpecialPayments(self)

    # -- requests ----------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> httpx.Response:
        """Send one logical call through the stack and return its 2xx response.

        A POST without *idempotency_key* gets a fresh one here, before anything is
        sent, so that it is known whatever ends the call. When the call is cancelled
        (``asyncio.timeout``, a cancelled task, Ctrl-C), the `asyncio.CancelledError`
        leaving it gets a note naming the key: the request may have reached Lean, and
        calling again with that key cannot act twice. ``asyncio.timeout`` chains that
        error as its `TimeoutError`'s ``__cause__``.

        Args:
            method: the HTTP method.
            path: the path below the base URL, already percent-encoded.
            json: the JSON body, if any.
            idempotency_key: the ``Idempotency-Key`` to send; POSTs get one anyway.
            replay_safe: the API will not act twice if this request is sent twice
                (a unique key or an honoured Idempotency-Key protects it).

        Raises:
            APIError: the call failed; see `lean_async.errors`.
            asyncio.CancelledError: the call was cancelled (with the note above).
        """
        if self._pool.closed:
            raise LeanError("this LeanClient is closed")
        extensions: dict[str, Any] = {ext.MAX_RETRIES: self._max_retries}
        if replay_safe:
            extensions[ext.REPLAY_SAFE] = True
        if self._deadline is not None:
            extensions[ext.DEADLINE] = time.monotonic() + self._deadline
        if method == "POST" and not idempotency_key:
            idempotency_key = str(uuid.uuid4())
        http = self._pool.http
        request = http.build_request(
            method, path, json=json, timeout=self._timeout, extensions=extensions
        )
        if idempotency_key:
            # Set on the built request: cheaper than merging a headers= argument.
            request.headers[IDEMPOTENCY_HEADER] = idempotency_key
        try:
            return await http.send(request)
        except asyncio.CancelledError as cancelled:
            if idempotency_key:
                cancelled.add_note(_cancelled_note(method, path, idempotency_key))
            raise

    def parse(self, response: httpx.Response, cls: type[T]) -> T:
        """Decode a response body into *cls*, or raise `APIResponseValidationError`."""
        return self._parse(response, lambda data: structure(data, cls))

    def parse_list(self, response: httpx.Response, cls: type[T]) -> list[T]:
        """Decode a JSON array response into a list of *cls*."""
        return self._parse(response, lambda data: structure_list(data, cls))

    def _parse(self, response: httpx.Response, build: Callable[[Any], R]) -> R:
        # Deep nesting can exhaust recursion while decoding or while structuring (the
        # less stack is left, the sooner): either way the body is not what the API sends.
        try:
            return self._decode_and_build(response, build)
        except RecursionError:
            raise self._invalid(response, "the response body is nested too deeply") from None

    def _decode_and_build(self, response: httpx.Response, build: Callable[[Any], R]) -> R:
        try:
            data = response.json()
        except ValueError:
            raise self._invalid(response, "the response body is not JSON") from None
        try:
            return build(data)
        except StructureError as exc:
            redact = self._redactor
            raise APIResponseValidationError(
                redact.text(f"the response does not match the API's shape: {exc}"),
                path=redact.text(exc.path),
                body=redact.value(data),
                status_code=response.status_code,
                **ext.call_context(response.request),
            ) from None

    def _invalid(self, response: httpx.Response, message: str) -> APIResponseValidationError:
        """Return the error for a 2xx body that cannot be decoded at all."""
        return APIResponseValidationError(
            message,
            path="$",
            body=self._redactor.text(response_text(response)),
            status_code=response.status_code,
            **ext.call_context(response.request),
        )

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool; safe to call more than once."""
        if not self._owner or self._pool.closed:
            return
        self._pool.closed = True
        await self._pool.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Only warn: scheduling an aclose() here runs after the loop may be gone (the
        # "Event loop is closed" errors of other SDKs).
        pool = self.__dict__.get("_pool")
        if self.__dict__.get("_owner") and pool is not None and not pool.closed:
            warnings.warn(
                f"unclosed {self!r}: use 'async with LeanClient(...)' or await aclose()",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    def __repr__(self) -> str:
        env = self.__dict__.get("_environment")
        return f"LeanClient(environment={env!s}, base_url={self.__dict__.get('_base_url')!r})"


_ResourceTypes = (Customers, Applications, Gigs, SpecialPayments)


def _cancelled_note(method: str, path: str, idempotency_key: str) -> str:
    return (
        f"lean-async: {method} {path} was cancelled and may have reached Lean; it was sent "
        f"with Idempotency-Key {idempotency_key!r}. Call again with "
        f"idempotency_key={idempotency_key!r} to retry it without acting twice."
    )


def _non_negative(name: str, value: int) -> int:
    return _at_least(name, value, 0)


def _at_least(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise LeanError(f"{name} must be a {kind} integer, got {value!r}")
    return value


def _resolve_target(
    environment: str | None, base_url: str | httpx.URL | None
) -> tuple[_config.Environment, str]:
    """Pick the environment and base URL from arguments, then env vars, then defaults."""
    env_name = environment or os.environ.get(_config.ENV_ENVIRONMENT)
    url = str(base_url) if base_url is not None else os.environ.get(_config.ENV_BASE_URL)
    if env_name:
        try:
            env = _config.Environment(env_name.strip().lower())
        except ValueError:
            choices = ", ".join(repr(e.value) for e in _config.Environment)
            raise LeanError(
                f"unknown environment {env_name!r}; expected one of {choices}"
            ) from None
    elif url and url.rstrip("/") == _config.BASE_URLS[_config.Environment.PRODUCTION]:
        env = _config.Environment.PRODUCTION
    else:
        env = _config.Environment.SANDBOX
    url = (url or _config.BASE_URLS[env]).rstrip("/")
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise LeanError(f"base_url must be an http(s) URL with a host, got {url!r}")
    if parsed.userinfo:
        raise LeanError("base_url must not contain credentials; pass api_key= instead")
    if parsed.scheme == "http" and not _config.is_loopback_host(parsed.host):
        raise LeanError(
            f"refusing plain http to {parsed.host!r}: the API key would travel unencrypted "
            "(http is allowed only for loopback hosts such as a local sandbox)"
        )
    return env, url + "/"
