"""Network settings resolved once per client: proxy URL and credentials, environment, TLS."""

from __future__ import annotations

import pickle
import ssl
from pathlib import Path

import pytest

from lean_async import LeanClient, LeanError
from lean_async.transport._network import NetworkSettings, ProxySettings, ssl_context, take_proxy

trustme = pytest.importorskip("trustme")  # the dev group has it; a bare install may not

KEY = "sk_test_network_31b7"
HTTPS = "https://app.staging.withlean.com/api/"


def _resolve(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **settings: object
) -> NetworkSettings:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    arguments: dict[str, object] = {"proxy": None, "trust_env": True, "verify": True, "cert": None}
    chosen = arguments | settings
    chosen["proxy"] = take_proxy(chosen["proxy"])[0]
    return NetworkSettings.resolve(HTTPS, **chosen)  # type: ignore[arg-type]


def test_proxy_credentials_are_split_off_and_hidden() -> None:
    """The kept URL has no credentials; repr and pickle show none of them."""
    proxy = ProxySettings.parse("http://egress%40corp:p%3Ass-word@proxy.internal:3128")
    assert proxy.url == "http://proxy.internal:3128"
    assert proxy.username is not None
    assert proxy.username.get_secret_value() == "egress@corp"
    assert proxy.password is not None
    assert proxy.password.get_secret_value() == "p:ss-word"
    assert "p:ss-word" not in repr(proxy)
    assert "egress" not in repr(proxy)
    with pytest.raises(TypeError):
        pickle.dumps(proxy)
    assert "p:ss-word" in proxy.secret_forms()


@pytest.mark.parametrize(
    "url", ["https://user:hunter22@proxy:3128", "socks5://proxy:1080", "proxy:3128", "http://"]
)
def test_a_proxy_must_be_an_http_url(url: str) -> None:
    """Only http:// proxy URLs are taken, and the refusal quotes no password."""
    with pytest.raises(LeanError, match="proxy") as info:
        LeanClient(api_key=KEY, proxy=url)
    assert "hunter22" not in str(info.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "http://p:1"),
        ({"https_proxy": "http://p:2"}, "http://p:2"),
        ({"ALL_PROXY": "http://p:3"}, "http://p:3"),
        ({"HTTP_PROXY": "http://p:4"}, None),  # for http:// URLs only
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "withlean.com"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".withlean.com"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "app.staging.withlean.com:443"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "otherlean.com,example.org"}, "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "withlean.com:8443"}, "http://p:1"),
    ],
)
def test_the_environment_names_the_proxy(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None
) -> None:
    """HTTPS_PROXY/ALL_PROXY (either case) apply unless NO_PROXY exempts the API's host."""
    network = _resolve(monkeypatch, env)
    assert (network.proxy.url if network.proxy else None) == expected


def test_trust_env_false_and_an_explicit_proxy_ignore_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """trust_env=False reads no variable; proxy= wins over the environment."""
    env = {"HTTPS_PROXY": "http://env:1"}
    assert _resolve(monkeypatch, env, trust_env=False).proxy is None
    chosen = _resolve(monkeypatch, env, proxy="http://mine:2").proxy
    assert chosen is not None
    assert chosen.url == "http://mine:2"


def test_a_forwarded_proxy_is_marked_for_plain_http() -> None:
    """A loopback http:// base URL is forwarded by the proxy, https tunnelled."""
    plain = NetworkSettings.resolve(
        "http://127.0.0.1:8080/api/",
        proxy=ProxySettings.parse("http://p:1"),
        trust_env=False,
        verify=True,
        cert=None,
    )
    assert plain.proxy is not None
    assert plain.proxy.forward


def test_verify_settings_build_the_expected_context(tmp_path: Path) -> None:
    """False turns checks off, a bundle path loads it, a context is used as it is."""
    off = ssl_context(False, None, trust_env=False)
    assert off.verify_mode == ssl.CERT_NONE
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    loaded = ssl_context(str(bundle), None, trust_env=False)
    assert loaded.cert_store_stats()["x509_ca"] == 1
    mine = ssl.create_default_context()
    assert ssl_context(mine, None, trust_env=True) is mine
    assert ssl_context(True, None, True) is ssl_context(True, None, True)  # built once


def test_unusable_tls_files_are_refused_at_construction(tmp_path: Path) -> None:
    """A verify= path that does not exist, or a cert= that is not PEM, is a LeanError."""
    with pytest.raises(LeanError, match="names no CA bundle"):
        LeanClient(api_key=KEY, verify=str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(LeanError, match="cert= could not be loaded"):
        LeanClient(api_key=KEY, cert=str(junk))


@pytest.mark.parametrize("url", ["http://proxy:port", "http://[::1", "http://pro\x00xy:3128"])
def test_an_unparsable_proxy_url_is_refused_without_quoting_it(url: str) -> None:
    """A URL httpx cannot parse is "not a valid proxy URL", the text itself not repeated."""
    with pytest.raises(LeanError, match="proxy= is not a valid proxy URL") as info:
        LeanClient(api_key=KEY, proxy=url.replace("//", "//u:hunter22@"))
    assert "hunter22" not in str(info.value)


def test_a_proxy_that_is_not_a_url_is_refused() -> None:
    """proxy= takes a URL string (or httpx.URL); anything else is named by its type."""
    assert take_proxy(3128) == (None, "proxy= must be a URL string, not int")
    with pytest.raises(LeanError, match="proxy= must be a URL string, not int"):
        LeanClient(api_key=KEY, proxy=3128)  # type: ignore[arg-type]


def test_an_unusable_proxy_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A $HTTPS_PROXY that is not an http:// URL is an error naming the variable, not ignored."""
    with pytest.raises(ValueError, match=r"\$HTTPS_PROXY must be an http:// proxy URL") as info:
        _resolve(monkeypatch, {"HTTPS_PROXY": "socks5://u:hunter22@proxy:1080"})
    assert "hunter22" not in str(info.value)


def test_ssl_cert_dir_from_the_environment_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With trust_env, $SSL_CERT_DIR (a directory) gives the CAs; without it, it is not read."""
    loaded: list[tuple[str | None, str | None]] = []
    real = ssl.SSLContext.load_verify_locations

    def spy(self: ssl.SSLContext, cafile: str | None = None, capath: str | None = None) -> None:
        loaded.append((cafile, capath))
        real(self, cafile, capath)

    def positional(self: ssl.SSLContext, *args: str | None) -> None:
        spy(self, *args[:2])

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", positional)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    context = ssl_context(True, None, trust_env=True)
    assert (None, str(tmp_path)) in loaded
    assert context.verify_mode == ssl.CERT_REQUIRED
    loaded.clear()
    assert ssl_context(True, None, trust_env=False) is not context
    assert (None, str(tmp_path)) not in loaded


def test_verify_a_directory_of_ca_certificates(tmp_path: Path) -> None:
    """verify= a directory (hashed CA names, as c_rehash makes) verifies with those CAs."""
    context = ssl_context(str(tmp_path), None, trust_env=False)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] == 0  # a directory is read per lookup


def test_verify_a_file_that_holds_no_certificate_is_refused(tmp_path: Path) -> None:
    """verify= a file that is not a PEM CA bundle is refused at construction."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(LeanError, match="holds no PEM CA certificate"):
        LeanClient(api_key=KEY, verify=str(junk))
