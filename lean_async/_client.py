"""`LeanClient`: configuration, lifecycle, `with_options`, and the one hop of every call.

A call builds its `httpx.Request` here (base URL parsed once, default headers merged
once, body encoded once, settings in ``request.extensions``) and hands it straight to the
transport stack, which authenticates, retries and maps errors; no `httpx.AsyncClient` is
on the way. The answer is decoded into the model here too, so the context of an
`APIResponseValidationError` is built in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json as jsonlib
import os
import time
import typing
import warnings
import weakref
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

import attrs
import httpx

from lean_async import _config, _logging
from lean_async._codec.convert import StructureError, structure, structure_list
from lean_async._codec.wire import RequestFactory
from lean_async._secrets import Secret, take_api_key
from lean_async._telemetry import Telemetry, names, telemetry_for, traced
from lean_async._version import __version__
from lean_async.errors import (
    APIResponseValidationError,
    BadRequestError,
    ConflictError,
    LeanError,
    NotFoundError,
)
from lean_async.ratelimit import AdaptiveRateLimiter, RateLimiter
from lean_async.resources import Applications, Customers, Gigs, SpecialPayments, _outcome
from lean_async.resources._reconcile import matches
from lean_async.transport import RetryBudget, RetryPolicy, build_stack
from lean_async.transport import extensions as ext
from lean_async.transport._connect_errors import HttpxErrorsTransport, ProxyAnswersTransport
from lean_async.transport._loops import LoopPools
from lean_async.transport._network import CertTypes, NetworkSettings, VerifyTypes, take_proxy
from lean_async.transport._redact import REDACTED_AUTHORIZATION, Redactor
from lean_async.transport.caller import CallerClientTransport
from lean_async.transport.errors import response_text
from lean_async.transport.idempotency import new_key

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["LeanClient"]

T = TypeVar("T")

_USER_AGENT = f"lean-async/{__version__}"


class _NotGiven:
    """Sentinel for "argument not passed" where `None` is a meaningful value."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()

_UNREAD: Any = object()  # `_decode`'s "the body is not parsed yet" (JSON null is a body)


class _Shared:
    """What every `with_options` copy of one client shares: the stack, target and pool."""

    __slots__ = (
        "answered_keys",
        "backend",
        "closed",
        "environment",
        "limiter",
        "pools",
        "redactor",
        "requests",
        "stack",
        "telemetry",
    )

    def __init__(
        self,
        stack: httpx.AsyncBaseTransport,
        environment: _config.Environment,
        base_url: str,
        redactor: Redactor,
        backend: _config.Backend | None,
        telemetry: Telemetry | None,
        pools: LoopPools | None,
        limiter: RateLimiter,
    ) -> None:
        self.stack = stack
        self.pools = pools
        self.limiter = limiter
        self.telemetry = telemetry
        self.backend = backend
        self.environment = environment
        self.redactor = redactor
        self.closed = False
        self.answered_keys = _outcome.AnsweredKeys()  # tells a same-process re-run
        self.requests = RequestFactory(
            base_url,
            {
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                "Connection": "keep-alive",
                "User-Agent": _USER_AGENT,
                # Never the credential: the auth layer writes that where it is sent
                # (over the aiohttp base, without touching the request at all).
                "Authorization": REDACTED_AUTHORIZATION,
            },
        )


class LeanClient:
    """An asyncio client for the Lean payouts API.

    Use it as ``async with LeanClient(...) as lean:`` or call `aclose` when done. One
    client serves a whole process: share it across tasks, event loops and threads. It
    keeps one connection pool per event loop, made on the loop's first call and closed
    when that loop finishes (``asyncio.run`` per task is fine); a forked child makes its
    own. The retry budget and telemetry are shared by all of them.

    Args:
        api_key: your Lean API key; defaults to ``$LEAN_API_KEY``. Kept in a
            redacting holder from the first line on: no repr, error or frame of the
            client shows it.
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
        backend: the HTTP library under the stack when neither *http_client* nor
            *transport* is given: ``"aiohttp"`` (the default: lean-async's own base
            on aiohttp, fast with many calls in flight) or ``"httpx"`` (httpx's pooled
            transport: what respx mocks, and httpx's own features).
        proxy: an ``http://`` proxy URL, credentials allowed
            (``http://user:pass@proxy:3128``); HTTPS goes through it with ``CONNECT``.
            The credentials are held like the API key: never shown, logged or pickled.
        trust_env: honour ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY``
            (when *proxy* is not given) and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (when
            *verify* is ``True``), as httpx does; ``False`` ignores them.
        verify: TLS verification: ``True`` (httpx's CA bundle, certifi), a CA bundle
            path (file or directory), an `ssl.SSLContext`, or ``False`` (none; for
            local tests only).
        cert: a client certificate for mutual TLS: a PEM path holding certificate and
            key, or a ``(certificate, key)`` pair of paths.
        tracer_provider: the OpenTelemetry tracer provider to report spans to; by
            default the global one, looked up at each call (needs the ``[otel]``
            extra). With no SDK configured nothing is recorded.
        meter_provider: the OpenTelemetry meter provider to report metrics to; by
            default the global one, looked up at each call.
        rate_limit: a ceiling in requests per second for every call of this client
            (retries included). Without it the client still paces itself once Lean
            answers 429 (`lean_async.ratelimit.AdaptiveRateLimiter`).
        rate_limiter: the limiter every attempt waits its turn in, e.g. a
            `lean_async.ratelimit.RedisRateLimiter` shared by several processes;
            replaces the default one (then pass the ceiling to it, not *rate_limit*).

    Raises:
        LeanError: no API key (or one with whitespace or control characters, which
            no header can carry), an unknown environment, an unsafe base URL, a
            *timeout* or *deadline* that is not a finite number of seconds > 0 (or
            None), a *backoff_base* or *backoff_cap* that is not one >= 0, a
            *max_response_bytes* that is not a positive integer, a *rate_limit* that is
            not a positive number (or given with *rate_limiter*), a provider given
            without ``opentelemetry-api`` installed, a *proxy* that is not an
            ``http://`` URL, a *verify* path that holds no CA certificate, a *cert* that
            cannot be loaded, or network settings given with *http_client*/*transport*.
    """

    def __init__(
        self,
        api_key: str | Secret[str] | None = None,
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
        backend: _config.Backend = _config.DEFAULT_BACKEND,
        proxy: str | httpx.URL | None = None,
        trust_env: bool = True,
        verify: VerifyTypes = True,
        cert: CertTypes | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        rate_limit: float | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        secret, problem = take_api_key(api_key, os.environ.get(_config.ENV_API_KEY))
        proxy_settings, proxy_problem = take_proxy(proxy)
        # Every refusal below passes through this frame: only the redacting holders may
        # be in it, never the raw key or proxy credentials (error trackers send each
        # frame's locals).
        del api_key, proxy
        if secret is None:
            raise LeanError(
                f"{problem}: pass api_key= or set ${_config.ENV_API_KEY} "
                "(the key Lean gave you for this environment)"
            )
        _logging.setup_from_env()
        if http_client is not None and transport is not None:
            raise LeanError("pass http_client= or transport=, not both")
        if backend not in _config.BACKENDS:
            choices = ", ".join(repr(name) for name in _config.BACKENDS)
            raise LeanError(f"unknown backend {backend!r}; expected one of {choices}")
        with _as_lean_error():
            environment_, url = _config.resolve_target(environment, base_url)
            settings = _config.CallSettings(
                timeout=timeout, max_retries=max_retries, deadline=deadline
            )
            _config.check_count("max_response_bytes", max_response_bytes, 1)
            _config.check_count("max_connections", max_connections, 1)
            if max_keepalive_connections is not None:
                _config.check_count("max_keepalive_connections", max_keepalive_connections)
            if proxy_problem:
                raise ValueError(proxy_problem)
            network = NetworkSettings.resolve(
                url, proxy=proxy_settings, trust_env=trust_env, verify=verify, cert=cert
            )
            if rate_limiter is not None and rate_limit is not None:
                raise ValueError("pass rate_limit= or rate_limiter=, not both")
            limiter = rate_limiter if rate_limiter is not None else AdaptiveRateLimiter(rate_limit)
            policy = RetryPolicy(
                max_retries=settings.max_retries,
                backoff_base=backoff_base,
                backoff_cap=backoff_cap,
            )
        if (http_client is not None or transport is not None) and (
            proxy_settings is not None or verify is not True or cert is not None
        ):
            raise LeanError(
                "proxy=, verify= and cert= configure the pooled backends; with "
                "http_client= or transport= configure that client or transport instead"
            )

        pools = None
        if http_client is not None:
            base: httpx.AsyncBaseTransport = CallerClientTransport(http_client)
        elif transport is not None:
            base = transport
        else:
            base = pools = _pooled_base(
                backend, max_connections, max_keepalive_connections, network
            )
        budget = RetryBudget()
        base_path = httpx.URL(url).raw_path.decode("ascii")
        telemetry = telemetry_for(tracer_provider, meter_provider, budget, base_path, limiter)
        proxy_forms = network.proxy.secret_forms() if network.proxy is not None else ()
        redactor = Redactor(secret, proxy_forms)
        stack = build_stack(
            base,
            api_key=secret,
            policy=policy,
            budget=budget,
            max_response_bytes=max_response_bytes,
            telemetry=telemetry,
            redactor=redactor,
            limiter=limiter,
        )
        shared = _Shared(
            stack,
            environment_,
            url,
            redactor,
            backend if pools is not None else None,
            telemetry,
            pools,
            limiter,
        )
        self._attach(shared, settings, owner=True)
        if pools is not None:
            # When the client goes, the pools of loops closed without shutting down are
            # dropped before the garbage collector finalizes their sockets (a weakref
            # callback runs before any __del__ of the same garbage).
            weakref.finalize(self, pools.drop_finished)

    def _attach(self, shared: _Shared, settings: _config.CallSettings, *, owner: bool) -> None:
        self._shared = shared
        self._settings = settings
        self._owner = owner

    # -- configuration -----------------------------------------------------------

    @property
    def environment(self) -> _config.Environment:
        """The environment this client talks to."""
        return self._shared.environment

    @property
    def backend(self) -> _config.Backend | None:
        """The pooled HTTP library under the stack, or None with *transport*/*http_client*."""
        return self._shared.backend

    @property
    def rate_limiter(self) -> RateLimiter:
        """The rate limiter every attempt of this client (and its copies) waits in."""
        return self._shared.limiter

    @property
    def base_url(self) -> str:
        """The base URL every path is relative to."""
        return self._shared.requests.base.text

    @property
    def timeout(self) -> float | httpx.Timeout | None:
        """The timeout of one attempt."""
        return self._settings.timeout

    @property
    def max_retries(self) -> int:
        """Retries allowed after the first attempt of a call."""
        return self._settings.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds allowed for a whole call, or None for no limit."""
        return self._settings.deadline

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = NOT_GIVEN,
        max_retries: int = NOT_GIVEN,
        deadline: float | None = NOT_GIVEN,
    ) -> Self:
        """Return a copy with other per-call settings that shares this connection pool.

        The copy does not own the pool: closing it leaves the pool open, and closing
        the original closes it for every copy. Its resources are its own, so every
        resource sends with the copy's settings.

        Raises:
            LeanError: *max_retries* is not a non-negative integer, or *timeout* or
                *deadline* is not a finite number of seconds > 0 (or None).
        """
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("timeout", timeout),
                ("max_retries", max_retries),
                ("deadline", deadline),
            )
            if value is not NOT_GIVEN
        }
        with _as_lean_error():
            settings = attrs.evolve(self._settings, **changes)
        copy = type(self).__new__(type(self))
        copy._attach(self._shared, settings, owner=False)
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

    @property
    def _telemetry(self) -> Telemetry | None:
        return self._shared.telemetry

    @traced(names.RAW_REQUEST_OPERATION)
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> httpx.Response:
        """Send one logical call through the stack and return its 2xx response, read.

        The low-level way in, for an endpoint the SDK does not wrap yet; the resources
        use `_send`, which also decodes the answer. A POST without *idempotency_key*
        gets a fresh one here, before anything is sent, so that it is known whatever
        ends the call. When the call is cancelled (``asyncio.timeout``, a cancelled
        task, Ctrl-C), the `asyncio.CancelledError` leaving it gets a note naming the
        key: the request may have reached Lean, and calling again with that key cannot
        act twice. ``asyncio.timeout`` chains that error as its `TimeoutError`'s
        ``__cause__``. With OpenTelemetry configured it is traced as one logical call,
        span ``lean.request``, its attempts below it.

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
        request = self._build(method, path, json, idempotency_key, replay_safe)
        started = time.perf_counter()
        response = await self._exchange(request, path)
        # What httpx.AsyncClient.send would have set on the response it returns.
        response.request = request
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return response

    def parse(self, response: httpx.Response, cls: type[T]) -> T:
        """Decode a response that `request` returned into *cls*.

        Raises:
            APIResponseValidationError: the body is not JSON or not a *cls*.
        """
        return typing.cast(T, self._decode(response.request, response, cls))

    def parse_list(self, response: httpx.Response, cls: type[T]) -> list[T]:
        """Decode a JSON array response that `request` returned into a list of *cls*."""
        cast_to = list[cls]  # type: ignore[valid-type]
        return typing.cast(list[T], self._decode(response.request, response, cast_to))

    @overload
    async def _send(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T],
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> T: ...

    @overload
    async def _send(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> Any: ...

    async def _send(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> Any:
        """Send one call and return its answer decoded into *cast_to*.

        *cast_to* is a model class, or ``list[Model]`` for a JSON array. The other
        arguments are those of `request`.

        Raises:
            APIResponseValidationError: a 2xx body that is not a *cast_to*.
            APIError: the call failed.
        """
        request = self._build(method, path, json, idempotency_key, replay_safe)
        response = await self._exchange(request, path)
        return self._decode(request, response, cast_to)

    async def _create(
        self, path: str, body: dict[str, Any], *, lookup_path: str, cast_to: type[T]
    ) -> T:
        """POST a create protected by a unique key, reconciling an "already exists".

        A 400 or 409 answer looks the object up at *lookup_path*: when it exists and
        matches what was sent (the retry after a lost answer, a re-run batch), it is
        returned; when it differs, `ConflictError` shows both; when there is none, the
        original error stands. When asked (`resources._outcome.recording`), it reports
        whether this call made the object or found it already there.
        """
        outcome = _outcome.current()
        started = time.monotonic() if outcome is not None else 0.0
        request = self._build("POST", path, body, None, True)
        try:
            response = await self._exchange(request, path)
        except (BadRequestError, ConflictError) as error:
            lookup = self._build("GET", lookup_path, None, None, False)
            try:
                found = await self._exchange(lookup, lookup_path)
            except NotFoundError:
                raise error from None
            # The answer is parsed once: the model and the comparison read the same JSON.
            try:
                data = jsonlib.loads(found.content)
            except (ValueError, RecursionError):
                data = _UNREAD  # not JSON: `_decode` says so
            existing: T = self._decode(lookup, found, cast_to, data)
            if not matches(body, data, cast_to):
                raise ConflictError(
                    f"{lookup_path} already exists with different values than were sent",
                    existing=existing,
                    sent=body,
                    response=error.response,
                    method=error.method,
                    url=error.url,
                    attempts=error.attempts,
                    idempotency_key=error.idempotency_key,
                    status_code=error.status_code,
                    body=error.body,
                ) from error
            if outcome is not None:
                if outcome.earlier or ext.earlier_attempt_may_have_arrived(request):
                    # An earlier attempt's answer was lost: it may be this call's own.
                    outcome.created = self._made_since(existing, found, started, outcome)
                else:  # no attempt before the one answered "exists" reached Lean
                    outcome.created = False
            return existing
        value: T = self._decode(request, response, cast_to)
        if outcome is not None:
            outcome.created = True  # the unique key was free: this call made it
        return value

    async def _create_keyed(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        cast_to: type[T],
    ) -> T:
        """POST a create protected by an ``Idempotency-Key`` (*idempotency_key*, else fresh).

        When asked (`resources._outcome.recording`), it reports whether this call made
        the object: always under a key it made itself; under the caller's key, which a
        repeat answers with the original answer unmarked, not when this client saw that
        key answered before, else by ``createdAt`` on Lean's clock.
        """
        outcome = _outcome.current()
        started = time.monotonic() if outcome is not None else 0.0
        request = self._build("POST", path, body, idempotency_key, True)
        response = await self._exchange(request, path)
        value: T = self._decode(request, response, cast_to)
        if outcome is not None:
            if idempotency_key is None:
                outcome.created = True  # nobody else knew the key
            else:
                answered = self._shared.answered_keys
                payment_id = getattr(value, "id", None)
                if answered.answered_before(idempotency_key, payment_id, started - outcome.earlier):
                    outcome.created = False  # a repeat of a call this client saw answered
                else:
                    outcome.created = self._made_since(value, response, started, outcome)
                answered.add(idempotency_key, payment_id, time.monotonic())
        return value

    @staticmethod
    def _made_since(
        value: object, response: httpx.Response, started: float, outcome: _outcome.Outcome
    ) -> bool | None:
        """Return whether *value* (from *response*) was made since the operation started.

        Judged on Lean's clock: the answer's ``Date`` less the time since *started* (the
        call's monotonic start) and the operation's earlier attempts (`resources._outcome`).
        """
        return _outcome.made_since(
            getattr(value, "created_at", None),
            response.headers.get("date"),
            time.monotonic() - started + outcome.earlier,
        )

    def _build(
        self,
        method: str,
        path: str,
        json: Any,
        idempotency_key: str | None,
        replay_safe: bool,
    ) -> httpx.Request:
        """Return the request of one call: URL, headers, body and settings, nothing else."""
        shared, settings = self._shared, self._settings
        if shared.closed:
            raise LeanError("this LeanClient is closed")
        extensions: dict[str, Any] = {
            "timeout": settings.timeouts,
            ext.MAX_RETRIES: settings.max_retries,
        }
        if replay_safe:
            extensions[ext.REPLAY_SAFE] = True
        if settings.deadline is not None:
            extensions[ext.DEADLINE] = time.monotonic() + settings.deadline
        if method == "POST" and not idempotency_key:
            idempotency_key = new_key()
        if idempotency_key:
            extensions[ext.IDEMPOTENCY_KEY] = idempotency_key
        return shared.requests.build(
            method, path, json=json, idempotency_key=idempotency_key, extensions=extensions
        )

    async def _exchange(self, request: httpx.Request, path: str) -> httpx.Response:
        """Hand *request* (for *path*) to the stack; return its 2xx response, body read."""
        try:
            return await self._shared.stack.handle_async_request(request)
        except asyncio.CancelledError as cancelled:
            key = ext.get_idempotency_key(request)
            if key:
                cancelled.add_note(_cancelled_note(request.method, path, key))
            raise

    def _decode(
        self, request: httpx.Request, response: httpx.Response, cast_to: Any, data: Any = _UNREAD
    ) -> Any:
        """Decode a 2xx body (or its JSON *data*, parsed already) into *cast_to*.

        Raises:
            APIResponseValidationError: the body is not JSON, or not a *cast_to*.
        """
        # Deep nesting can exhaust recursion while decoding or while structuring (the
        # less stack is left, the sooner): either way the body is not what the API sends.
        try:
            try:
                if data is _UNREAD:
                    data = jsonlib.loads(response.content)
            except ValueError:  # JSONDecodeError and UnicodeDecodeError both derive from it
                raise self._invalid(request, response, "the response body is not JSON") from None
            try:
                if type(cast_to) is not type and typing.get_origin(cast_to) is list:
                    return structure_list(data, typing.get_args(cast_to)[0])
                return structure(data, cast_to)
            except StructureError as exc:
                redact = self._shared.redactor
                raise self._invalid(
                    request,
                    response,
                    redact.text(f"the response does not match the API's shape: {exc}"),
                    path=redact.text(exc.path),
                    body=redact.value(data),
                ) from None
        except RecursionError:
            raise self._invalid(
                request, response, "the response body is nested too deeply"
            ) from None

    def _invalid(
        self,
        request: httpx.Request,
        response: httpx.Response,
        message: str,
        *,
        path: str = "$",
        body: object = NOT_GIVEN,
    ) -> APIResponseValidationError:
        """Return the error for a 2xx body that is not what the API documents.

        The one place its context is built: the call's method, URL, attempts and
        idempotency key, the status, and the body with the key redacted.
        """
        if body is NOT_GIVEN:
            body = self._shared.redactor.text(response_text(response))
        return APIResponseValidationError(
            message,
            path=path,
            body=body,
            status_code=response.status_code,
            **ext.call_context(request),
        )

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool; safe to call more than once."""
        shared = self._shared
        if not self._owner or shared.closed:
            return
        shared.closed = True
        await shared.stack.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Only warn: scheduling an aclose() here runs after the loop may be gone (the
        # "Event loop is closed" errors of other SDKs). A pooled client whose every pool
        # was closed with its loop (asyncio.run per task) holds nothing and says nothing.
        shared = self.__dict__.get("_shared")
        if not self.__dict__.get("_owner") or shared is None or shared.closed:
            return
        pools = shared.pools
        if pools is not None:
            pools.drop_finished()
        if pools is None or pools.open_pools:
            warnings.warn(
                f"unclosed {self!r}: use 'async with LeanClient(...)' or await aclose()",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError(
            "a LeanClient holds the API key and open connections and cannot be pickled; "
            "make one in each process (a forked child may use its parent's)"
        )

    def __repr__(self) -> str:
        shared = self.__dict__.get("_shared")
        if shared is None:
            return "LeanClient(<not initialised>)"
        base_url = shared.requests.base.text
        return f"LeanClient(environment={shared.environment!s}, base_url={base_url!r})"


@contextlib.contextmanager
def _as_lean_error() -> Iterator[None]:
    """Re-raise a settings `ValueError` as `LeanError`, the client's documented error."""
    try:
        yield
    except ValueError as exc:
        raise LeanError(str(exc)) from None


def _cancelled_note(method: str, path: str, idempotency_key: str) -> str:
    return (
        f"lean-async: {method} {path} was cancelled and may have reached Lean; it was sent "
        f"with Idempotency-Key {idempotency_key!r}. Call again with "
        f"idempotency_key={idempotency_key!r} to retry it without acting twice."
    )


def _pooled_base(
    backend: _config.Backend,
    max_connections: int,
    max_keepalive_connections: int | None,
    network: NetworkSettings,
) -> LoopPools:
    """Return the pooled base of *backend*: one pool per event loop, owned by the client."""
    proxy = network.proxy
    make: Callable[[], httpx.AsyncBaseTransport]
    if backend == "aiohttp":
        from lean_async.transport._aiohttp import AiohttpTransport  # imports aiohttp

        def make() -> httpx.AsyncBaseTransport:
            return AiohttpTransport(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive_connections,
                ssl=network.ssl,
                proxy=proxy,
            )

    else:
        keepalive = (
            max_connections if max_keepalive_connections is None else max_keepalive_connections
        )
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive)

        def make() -> httpx.AsyncBaseTransport:
            return HttpxErrorsTransport(
                httpx.AsyncHTTPTransport(
                    verify=network.ssl,
                    trust_env=network.trust_env,
                    limits=limits,
                    proxy=None
                    if proxy is None
                    else httpx.Proxy(
                        proxy.url,
                        auth=None
                        if proxy.username is None or proxy.password is None
                        else (proxy.username.get_secret_value(), proxy.password.get_secret_value()),
                    ),
                )
            )

    if proxy is None:
        return LoopPools(make)
    return LoopPools(lambda: ProxyAnswersTransport(make(), proxy.url))
