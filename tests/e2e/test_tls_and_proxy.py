"""Paying through real TLS and a real proxy: ``proxy=``, ``verify=``, ``cert=``, ``trust_env=``.

The servers are real processes on 127.0.0.1, started here and ended by pid
(`tests.real_servers`): ``lean-async sandbox --tls-cert/--tls-key`` with certificates
from a private CA (``trustme``), the same requiring client certificates
(``--tls-client-ca``), and ``proxy.py`` with and without Basic authentication, whose own
log shows each request it relayed. The API key and the proxy credentials are looked for
in everything the client and these servers produce.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import itertools
import logging
import pickle
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from lean_async import APIConnectionError, LeanClient, LeanError
from lean_async._config import Backend
from lean_async.testing import set_testing
from lean_async.transport import _private_state
from tests.e2e.conftest import gig_args
from tests.real_servers import ServedProcess, proxy_process, sandbox_process
from tests.served import open_fds

trustme = pytest.importorskip("trustme")  # the dev group has it; a bare install may not

KEY = "sk_test_tls_proxy_5f1a9e"
PROXY_USER = "pxuser-9d4c"
PROXY_PASSWORD = "px-S3cret-71c0"
SECRETS = (KEY, PROXY_USER, PROXY_PASSWORD)
_numbers = itertools.count(1)


@attrs.frozen
class Pki:
    """A private CA and the files the servers and clients use."""

    ca: Path
    server: tuple[Path, Path]
    client: tuple[Path, Path]
    client_combined: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("payroll-worker.lean-async.test")
    paths = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key", "ccert", "ckey", "c")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server.private_key_pem.write_to_path(str(paths["key"]))
    client.cert_chain_pems[0].write_to_path(str(paths["ccert"]))
    client.private_key_pem.write_to_path(str(paths["ckey"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths["c"]))
    return Pki(
        ca=paths["ca"],
        server=(paths["cert"], paths["key"]),
        client=(paths["ccert"], paths["ckey"]),
        client_combined=paths["c"],
    )


@pytest.fixture(scope="module")
def tls_sandbox(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``lean-async sandbox`` over TLS with the private CA's certificate."""
    log = tmp_path_factory.mktemp("tls") / "sandbox.log"
    with sandbox_process(log, api_key=KEY, tls=pki.server) as served:
        yield served
    _assert_no_secret(served.text(), (PROXY_USER, PROXY_PASSWORD))


@pytest.fixture(scope="module")
def mtls_sandbox(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``lean-async sandbox`` over TLS requiring a client certificate from the CA."""
    log = tmp_path_factory.mktemp("mtls") / "sandbox.log"
    with sandbox_process(log, api_key=KEY, tls=pki.server, client_ca=pki.ca) as served:
        yield served


@pytest.fixture(scope="module")
def http_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``lean-async sandbox`` over plain HTTP (reached through the proxy by forwarding)."""
    log = tmp_path_factory.mktemp("http") / "sandbox.log"
    with sandbox_process(log, api_key=KEY) as served:
        yield served


@pytest.fixture(scope="module")
def open_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``proxy.py`` without authentication."""
    with proxy_process(tmp_path_factory.mktemp("proxy") / "proxy.log") as served:
        yield served
    _assert_no_secret(served.text(), SECRETS)


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``proxy.py`` requiring Basic proxy authentication."""
    log = tmp_path_factory.mktemp("authproxy") / "proxy.log"
    with proxy_process(log, basic_auth=f"{PROXY_USER}:{PROXY_PASSWORD}") as served:
        yield served
    _assert_no_secret(served.text(), SECRETS)


@pytest.fixture(autouse=True)
def _no_waits() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


def _assert_no_secret(text: str, secrets: tuple[str, ...] = SECRETS) -> None:
    for secret in secrets:
        assert secret not in text


def _assert_no_secret_in_frames(error: BaseException) -> None:
    """No local of a frame the error (or what it chains) passed through holds a credential."""
    seen: set[int] = set()
    node: BaseException | None = error
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        tb = node.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == __file__:  # the test, which holds them
                tb = tb.tb_next
                continue
            for name, value in tb.tb_frame.f_locals.items():
                shown = value if isinstance(value, str) else repr(value)
                for secret in (PROXY_USER, PROXY_PASSWORD):
                    assert secret not in shown, f"{tb.tb_frame.f_code.co_name}: {name}"
            tb = tb.tb_next
        node = node.__cause__ or node.__context__


def _proxied(proxy: ServedProcess, *, auth: bool) -> str:
    if not auth:
        return proxy.url
    return proxy.url.replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")


async def _pay(lean: LeanClient) -> None:
    """Register a worker, have them approved, and pay them a gig."""
    n = next(_numbers)
    uid = f"uid_tls_{n}"
    await lean.customers.create(
        partner_user_id=uid,
        first_name="Jane",
        last_name="Doe",
        birthday=dt.date(1980, 12, 31),
        phone_number=f"40851{n:05d}",
        email=f"tls{n}@example.com",
        street="700 Treehouse Drive",
        city="San Jose",
        state="CA",
        postal_code="95101",
        registration_date=dt.date(2020, 1, 1),
    )
    await lean.applications.submit(uid)
    await lean.customers.wait_until_active(uid, timeout=10)
    gig = await lean.gigs.create(**gig_args(n, partner_user_id=uid, gig_id=f"gig_tls_{n}"))
    assert gig.gig_id == f"gig_tls_{n}"


def _access_lines(proxy: ServedProcess, target: str) -> list[str]:
    """The proxy's access-log lines for requests it relayed to *target* (host:port)."""
    return [line for line in proxy.text().splitlines() if "access_log" in line and target in line]


async def _new_lines(
    proxy: ServedProcess, target: str, before: int, *, seconds: float = 5.0
) -> list[str]:
    """The access lines for *target* past the first *before*, waiting up to *seconds* for
    one (proxy.py writes a tunnel's line when the tunnel closes)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        lines = _access_lines(proxy, target)[before:]
        if lines or asyncio.get_running_loop().time() > deadline:
            return lines
        await asyncio.sleep(0.05)


async def _settled_count(proxy: ServedProcess, target: str, *, seconds: float = 2.0) -> int:
    """The number of access lines for *target* once it stops growing (proxy.py writes the
    lines of earlier tunnels as they close), checked every 0.1 s for up to *seconds*."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    count = len(_access_lines(proxy, target))
    while loop.time() < deadline:
        await asyncio.sleep(0.1)
        latest = len(_access_lines(proxy, target))
        if latest == count:
            return count
        count = latest
    return count


def _host_port(url: str) -> str:
    match = re.match(r"https?://([^/]+)/", url)
    assert match is not None
    return match.group(1)


async def test_pays_over_tls_with_a_private_ca(
    tls_sandbox: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """verify= a CA bundle path: the payout goes through over HTTPS."""
    async with LeanClient(
        api_key=KEY, base_url=tls_sandbox.url, backend=backend, verify=str(pki.ca)
    ) as lean:
        await _pay(lean)


async def test_verify_takes_an_ssl_context(
    tls_sandbox: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """verify= an ssl.SSLContext is used as it is."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    async with LeanClient(
        api_key=KEY, base_url=tls_sandbox.url, backend=backend, verify=context
    ) as lean:
        await lean.gigs.list()


async def test_an_untrusted_certificate_is_a_clear_error_not_retried(
    tls_sandbox: ServedProcess, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """The default CA bundle refuses the private CA: one attempt, and the error says why."""
    caplog.set_level(logging.DEBUG, logger="lean_async")
    async with LeanClient(
        api_key=KEY, base_url=tls_sandbox.url, backend=backend, trust_env=False, max_retries=3
    ) as lean:
        with pytest.raises(APIConnectionError) as info:
            await lean.gigs.list()
    assert "certificate verification failed" in str(info.value)
    assert info.value.attempts == 1
    _assert_no_secret(str(info.value) + repr(info.value) + caplog.text)


async def test_an_untrusted_certificate_behind_a_proxy_is_still_named(
    tls_sandbox: ServedProcess, open_proxy: ServedProcess, backend: Backend
) -> None:
    """Through a CONNECT tunnel, a failed verification is still that, and not retried."""
    async with LeanClient(
        api_key=KEY,
        base_url=tls_sandbox.url,
        backend=backend,
        trust_env=False,
        proxy=open_proxy.url,
        max_retries=3,
    ) as lean:
        with pytest.raises(APIConnectionError, match="certificate verification failed") as info:
            await lean.gigs.list()
    assert info.value.attempts == 1


async def test_ssl_cert_file_is_honoured_only_with_trust_env(
    tls_sandbox: ServedProcess, pki: Pki, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE names the CA with trust_env=True; trust_env=False ignores it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    async with LeanClient(api_key=KEY, base_url=tls_sandbox.url, backend=backend) as lean:
        await lean.gigs.list()
    async with LeanClient(
        api_key=KEY, base_url=tls_sandbox.url, backend=backend, trust_env=False
    ) as lean:
        with pytest.raises(APIConnectionError, match="certificate verification failed"):
            await lean.gigs.list()


@pytest.mark.parametrize("combined", [False, True], ids=["cert-and-key", "one-pem"])
async def test_mutual_tls_pays_with_a_client_certificate(
    mtls_sandbox: ServedProcess, pki: Pki, backend: Backend, combined: bool
) -> None:
    """cert= (cert, key) or one PEM: the sandbox that requires client certificates pays."""
    cert = str(pki.client_combined) if combined else (str(pki.client[0]), str(pki.client[1]))
    async with LeanClient(
        api_key=KEY, base_url=mtls_sandbox.url, backend=backend, verify=str(pki.ca), cert=cert
    ) as lean:
        await _pay(lean)


async def test_mutual_tls_without_a_client_certificate_fails(
    mtls_sandbox: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """Without cert= the server refuses the connection: an APIConnectionError, no answer."""
    async with LeanClient(
        api_key=KEY, base_url=mtls_sandbox.url, backend=backend, verify=str(pki.ca), max_retries=0
    ) as lean:
        with pytest.raises(APIConnectionError):
            await lean.gigs.list()


async def test_pays_through_a_proxy_with_connect(
    tls_sandbox: ServedProcess, open_proxy: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """proxy= an http:// proxy: HTTPS goes through it with CONNECT (the proxy's log says so)."""
    target = _host_port(tls_sandbox.url)
    before = len(_access_lines(open_proxy, target))
    async with LeanClient(
        api_key=KEY,
        base_url=tls_sandbox.url,
        backend=backend,
        verify=str(pki.ca),
        proxy=open_proxy.url,
    ) as lean:
        await _pay(lean)
    lines = await _new_lines(open_proxy, target, before)
    assert lines
    assert all("CONNECT" in line for line in lines)


async def test_forwards_plain_http_through_a_proxy(
    http_sandbox: ServedProcess, open_proxy: ServedProcess, backend: Backend
) -> None:
    """A plain-http (loopback) base URL goes through the proxy as forwarded requests."""
    target = _host_port(http_sandbox.url)
    before = len(_access_lines(open_proxy, target))
    async with LeanClient(
        api_key=KEY, base_url=http_sandbox.url, backend=backend, proxy=open_proxy.url
    ) as lean:
        await lean.gigs.list()
    lines = await _new_lines(open_proxy, target, before)
    assert any("GET" in line for line in lines)


async def test_pays_through_an_authenticating_proxy(
    tls_sandbox: ServedProcess,
    auth_proxy: ServedProcess,
    pki: Pki,
    backend: Backend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Credentials in the proxy URL authenticate; they show nowhere (repr, logs, pickle)."""
    caplog.set_level(logging.DEBUG, logger="lean_async")
    target = _host_port(tls_sandbox.url)
    before = len(_access_lines(auth_proxy, target))
    async with LeanClient(
        api_key=KEY,
        base_url=tls_sandbox.url,
        backend=backend,
        verify=str(pki.ca),
        proxy=_proxied(auth_proxy, auth=True),
    ) as lean:
        await _pay(lean)
        _assert_no_secret(repr(lean) + caplog.text)
        with pytest.raises(TypeError):
            pickle.dumps(lean)
    assert await _new_lines(auth_proxy, target, before)


async def test_mutual_tls_through_an_authenticating_proxy(
    mtls_sandbox: ServedProcess, auth_proxy: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """proxy= with credentials, verify= and cert= together: the payout goes through."""
    target = _host_port(mtls_sandbox.url)
    before = len(_access_lines(auth_proxy, target))
    async with LeanClient(
        api_key=KEY,
        base_url=mtls_sandbox.url,
        backend=backend,
        proxy=_proxied(auth_proxy, auth=True),
        verify=str(pki.ca),
        cert=(str(pki.client[0]), str(pki.client[1])),
    ) as lean:
        await _pay(lean)
    assert await _new_lines(auth_proxy, target, before)


async def test_forwarded_requests_authenticate_to_the_proxy(
    http_sandbox: ServedProcess, auth_proxy: ServedProcess, backend: Backend
) -> None:
    """Plain http through the authenticating proxy carries Proxy-Authorization too."""
    async with LeanClient(
        api_key=KEY,
        base_url=http_sandbox.url,
        backend=backend,
        proxy=_proxied(auth_proxy, auth=True),
    ) as lean:
        await lean.gigs.list()


@pytest.mark.parametrize("scheme", ["https", "http"])
async def test_a_proxy_refusing_credentials_is_a_clear_error_not_retried(
    tls_sandbox: ServedProcess,
    http_sandbox: ServedProcess,
    auth_proxy: ServedProcess,
    pki: Pki,
    backend: Backend,
    scheme: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """407 (CONNECT or forwarded): APIConnectionError naming the proxy, no credential, once."""
    caplog.set_level(logging.DEBUG, logger="lean_async")
    wrong = auth_proxy.url.replace("http://", f"http://{PROXY_USER}:wrong-{PROXY_PASSWORD}@")
    sandbox = tls_sandbox if scheme == "https" else http_sandbox
    for proxy in (auth_proxy.url, wrong):
        async with LeanClient(
            api_key=KEY, base_url=sandbox.url, backend=backend, verify=str(pki.ca), proxy=proxy
        ) as lean:
            with pytest.raises(APIConnectionError) as info:
                await lean.gigs.list()
        text = str(info.value)
        assert "407" in text
        assert auth_proxy.url in text
        assert info.value.attempts == 1
        seen = text + repr(info.value) + caplog.text + repr(info.value.__cause__)
        _assert_no_secret(seen)
        _assert_no_secret_in_frames(info.value)
        _assert_no_secret(seen, (f"wrong-{PROXY_PASSWORD}",))


async def test_a_proxy_that_cannot_reach_the_api_is_retried(
    open_proxy: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """A CONNECT the proxy cannot complete (nothing listens there): retried, then named."""
    async with LeanClient(
        api_key=KEY,
        base_url="https://127.0.0.1:9/api",
        backend=backend,
        verify=str(pki.ca),
        proxy=open_proxy.url,
        max_retries=1,
    ) as lean:
        with pytest.raises(APIConnectionError) as info:
            await lean.gigs.list()
    assert f"the proxy {open_proxy.url} refused the request" in str(info.value)
    assert info.value.attempts == 2  # nothing reached the API: another try may succeed


async def test_an_unreachable_proxy_is_a_clear_error(
    tls_sandbox: ServedProcess, pki: Pki, backend: Backend
) -> None:
    """Nothing listening at the proxy: APIConnectionError that says it is the proxy."""
    proxy = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9"
    async with LeanClient(
        api_key=KEY,
        base_url=tls_sandbox.url,
        backend=backend,
        verify=str(pki.ca),
        proxy=proxy,
        max_retries=1,
    ) as lean:
        with pytest.raises(APIConnectionError) as info:
            await lean.gigs.list()
    assert "cannot connect to the proxy http://127.0.0.1:9" in str(info.value)
    assert info.value.attempts == 2  # nothing was sent: retried like any connect error
    _assert_no_secret(str(info.value) + repr(info.value))
    _assert_no_secret_in_frames(info.value)


async def test_https_proxy_from_the_environment(
    tls_sandbox: ServedProcess,
    open_proxy: ServedProcess,
    pki: Pki,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY is used with trust_env=True, skipped for NO_PROXY hosts and when False."""
    target = _host_port(tls_sandbox.url)
    monkeypatch.setenv("HTTPS_PROXY", open_proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async def relayed(**settings: object) -> int:
        before = await _settled_count(open_proxy, target)
        async with LeanClient(
            api_key=KEY,
            base_url=tls_sandbox.url,
            backend=backend,
            verify=str(pki.ca),
            **settings,  # type: ignore[arg-type]
        ) as lean:
            await lean.gigs.list()
        return len(await _new_lines(open_proxy, target, before, seconds=1.0))

    assert await relayed() > 0
    assert await relayed(trust_env=False) == 0
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert await relayed() == 0


def test_network_settings_need_the_pooled_backends() -> None:
    """proxy=/verify=/cert= with transport= is refused: they configure the pooled bases."""
    import httpx

    with pytest.raises(LeanError, match="pooled backends"):
        LeanClient(api_key=KEY, transport=httpx.MockTransport(lambda r: None), proxy="http://p:1")


@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "tunnelled"])
def test_a_closed_loops_tls_pool_is_dropped_without_its_loop(
    tls_sandbox: ServedProcess,
    open_proxy: ServedProcess,
    pki: Pki,
    backend: Backend,
    through_proxy: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TLS (or CONNECT-tunnelled TLS) connection of a closed loop is closed directly."""
    closed: list[bool] = []
    real = _private_state.close_socket

    def spy(transport: asyncio.BaseTransport | None) -> bool:
        closed.append(real(transport))
        return closed[-1]

    monkeypatch.setattr(_private_state, "close_socket", spy)
    lean = LeanClient(
        api_key=KEY,
        base_url=tls_sandbox.url,
        backend=backend,
        verify=str(pki.ca),
        proxy=open_proxy.url if through_proxy else None,
    )
    fds = open_fds()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(lean.gigs.list())
    loop.close()  # without shutting down: the TLS connection outlives its loop
    del lean
    gc.collect()  # the client drops that pool: nothing may warn (an error in this suite)
    assert closed == [True]
    assert abs(open_fds() - fds) <= 2
