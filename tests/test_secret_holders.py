"""The redacting holders: nothing shows the secret, and taking a key never raises with it."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import pickle
import traceback
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async import LeanClient, LeanError
from lean_async._secrets import (
    Secret,
    WebhookKeys,
    basic_authorization,
    secret_kwargs,
    take_api_key,
    take_webhook_keys,
)
from lean_async.transport import AuthTransport
from lean_async.transport._frames import without_frames

KEY = "sk_live_HOLDERS_5e1f"


def _frames_of(error: BaseException) -> list[tuple[str, str]]:
    """(function name, repr of its locals) for each frame *error* passed through,
    less this test module's own."""
    frames = []
    for summary in traceback.TracebackException.from_exception(error, capture_locals=True).stack:
        if summary.filename != __file__:
            frames.append((summary.name, repr(summary.locals)))
    return frames


@pytest.mark.parametrize(
    "holder",
    [Secret(KEY), Secret(KEY.encode()), take_webhook_keys([KEY, "sk_old"])[0]],
)
def test_a_holder_shows_nothing_and_refuses_pickle(holder: object) -> None:
    assert KEY not in repr(holder)
    assert KEY not in str(holder)
    assert not hasattr(holder, "__dict__")
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(holder)
    with pytest.raises(TypeError, match="pickle"):
        copy.deepcopy(holder)


def test_webhook_keys_repr_counts_keys() -> None:
    keys, _ = take_webhook_keys([KEY, "sk_old"])
    assert repr(keys) == "WebhookKeys(2 keys, redacted)"


@given(st.text(max_size=40))
def test_take_api_key_never_raises_and_never_repeats_the_key(value: str) -> None:
    secret, problem = take_api_key(value)
    if secret is None:
        assert problem
        if len(value.strip()) >= 4:
            assert value.strip() not in problem
    else:
        assert secret.get_secret_value() == value
        assert problem == ""


@pytest.mark.parametrize("value", [None, 42, b"sk_bytes", ["sk"], ""])
def test_take_api_key_names_the_problem(value: object) -> None:
    secret, problem = take_api_key(value)
    assert secret is None
    assert problem


def test_take_api_key_prefers_the_argument_then_the_fallback() -> None:
    assert take_api_key(None, "sk_env")[0] == Secret("sk_env")
    assert take_api_key("sk_arg", "sk_env")[0] == Secret("sk_arg")
    assert take_api_key(Secret("sk_held"))[0] == Secret("sk_held")


@pytest.mark.parametrize("value", [f"{KEY}\n", f" {KEY}", f"{KEY}\x00", f"{KEY}\ud800"])
def test_a_key_no_header_can_carry_is_refused_without_echo(value: str) -> None:
    with pytest.raises(LeanError) as info:
        LeanClient(value)
    assert KEY not in str(info.value)
    frames = _frames_of(info.value)
    assert [name for name, _ in frames] == ["__init__"]
    assert all(KEY[4:] not in local_vars for _, local_vars in frames)


def test_a_webhook_key_that_is_not_valid_text_is_refused_without_echo() -> None:
    """A lone surrogate among the webhook keys is a ValueError that quotes none of them."""
    held, problem = take_webhook_keys([KEY, f"{KEY}\ud800"])
    assert held is None
    assert isinstance(problem, ValueError)
    assert "lone surrogate" in str(problem)
    assert KEY not in str(problem)


def test_basic_authorization_is_the_reference_header() -> None:
    header = basic_authorization(Secret("clé")).get_secret_value()
    assert header == "Basic " + base64.b64encode("clé:".encode()).decode()
    with pytest.raises(ValueError, match="header"):
        basic_authorization(Secret("a\nb"))


keys_lists = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3)


@given(keys_lists, st.binary(max_size=64))
def test_webhook_keys_match_hmac_sha1(keys: list[str], body: bytes) -> None:
    held, problem = take_webhook_keys(keys)
    if held is None:  # a lone surrogate cannot be a key
        assert isinstance(problem, ValueError)
        return
    for key in keys:
        digest = hmac.new(key.encode(), body, hashlib.sha1).digest()
        assert held.matches(body, digest)
    assert held.sign(body) == hmac.new(keys[0].encode(), body, hashlib.sha1).digest()
    assert not held.matches(body, b"\x00" * 20)


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.one_of(st.text(), st.none()))))
def test_take_webhook_keys_never_raises(value: Any) -> None:
    held, problem = take_webhook_keys(value)
    assert (held is None) != (problem is None)
    if problem is not None:
        assert isinstance(problem, TypeError | ValueError)
        assert problem.__traceback__ is None
        assert problem.__context__ is None


def test_webhook_keys_pass_through() -> None:
    held, _ = take_webhook_keys(KEY)
    assert isinstance(held, WebhookKeys)
    assert take_webhook_keys(held) == (held, None)


def test_secret_kwargs_wraps_only_a_raw_key() -> None:
    wrapped = secret_kwargs({"api_key": KEY, "base_url": "http://127.0.0.1/api"})
    assert wrapped["api_key"] == Secret(KEY)
    assert wrapped["base_url"] == "http://127.0.0.1/api"
    assert KEY not in repr(wrapped)
    assert secret_kwargs({}) == {}


def test_without_frames_drops_the_chain_tracebacks() -> None:
    def inner() -> None:
        secret = KEY  # noqa: F841 - what a library frame would hold
        raise OSError("reset")

    try:
        try:
            inner()
        except OSError as exc:
            raise httpx.ReadError("reset") from exc
    except httpx.ReadError as exc:
        error = without_frames(exc)
    assert error.__traceback__ is None
    assert error.__cause__ is not None
    assert error.__cause__.__traceback__ is None
    assert str(error.__cause__) == "reset"


class _Leaky(httpx.AsyncBaseTransport):
    """A base whose own frame holds the request as written when it fails."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        written = list(request.headers.raw)  # noqa: F841 - held like a library would
        raise self.error


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), asyncio.CancelledError(), RuntimeError("bug")]
)
async def test_auth_layer_cuts_the_frames_below_it(error: BaseException) -> None:
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    transport = AuthTransport(_Leaky(error), Secret(KEY))
    request = httpx.Request("GET", "https://api.example/gig")
    with pytest.raises(type(error)) as info:
        await transport.handle_async_request(request)
    frames = _frames_of(info.value)
    assert [name for name, _ in frames] == ["handle_async_request"]  # the base's is gone
    assert all(token not in local_vars for _, local_vars in frames)
    assert request.headers["authorization"] == "Basic [REDACTED]"


def test_without_frames_walks_exception_groups() -> None:
    """Each exception inside a group (a TaskGroup's failures) loses its frames too."""

    def fail(message: str) -> None:
        secret = KEY  # noqa: F841 - what a library frame would hold
        raise OSError(message)

    failures: list[Exception] = []
    for message in ("one", "two"):
        try:
            fail(message)
        except OSError as exc:
            failures.append(exc)
    try:
        raise ExceptionGroup("calls failed", failures)
    except ExceptionGroup as exc:
        group = without_frames(exc)
    assert group.__traceback__ is None
    assert [e.__traceback__ for e in group.exceptions] == [None, None]
    assert [str(e) for e in group.exceptions] == ["one", "two"]
