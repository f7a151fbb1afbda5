"""The network settings of `LeanClient`: proxy, environment, TLS verification, client certificate.

They mean what httpx's arguments of the same names mean, and are resolved once per
client, here, for both backends:

- ``proxy``: an ``http://`` proxy URL, credentials allowed (``http://user:pass@host:3128``);
  HTTPS goes through it with ``CONNECT``. The credentials are split off at once into
  `Secret` holders: the URL kept, shown and put in errors has none.
- ``trust_env``: without *proxy*, ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` (either
  case) give the proxy for the base URL's scheme unless ``NO_PROXY`` exempts its host;
  with ``verify=True``, ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` give the CA certificates.
  ``False`` ignores all of them.
- ``verify``: ``True`` (the CA bundle httpx uses, `certifi`, unless the environment names
  one), a CA bundle path (file or directory), an `ssl.SSLContext` used as it is, or
  ``False`` (no verification: for local tests only).
- ``cert``: a client certificate for mutual TLS: one PEM path holding the certificate and
  its key, or a ``(certificate, key)`` pair of paths.

The TLS context is built once and shared by every connection pool of the client (one per
event loop).
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
from typing import Final

import attrs
import httpx

from lean_async._config import Secret

__all__ = ["CertTypes", "NetworkSettings", "ProxySettings", "VerifyTypes"]

VerifyTypes = bool | str | os.PathLike[str] | ssl.SSLContext
"""What ``verify=`` accepts."""
CertTypes = str | os.PathLike[str] | tuple[str | os.PathLike[str], str | os.PathLike[str]]
"""What ``cert=`` accepts."""

_PROXY_SCHEMES: Final = frozenset({"http"})


@attrs.frozen
class ProxySettings:
    """A forward proxy: its URL without credentials, and the credentials apart.

    Attributes:
        url: the proxy URL, credentials removed (safe to show).
        username: the proxy user, or ``None`` without credentials.
        password: the proxy password, or ``None``.
        authorization: the ``Proxy-Authorization`` value (HTTP Basic), or ``None``.
        forward: the API is reached over plain http (a loopback sandbox), so requests
            are forwarded by the proxy rather than tunnelled with ``CONNECT``.
    """

    url: str
    username: Secret[str] | None = attrs.field(default=None, repr=False)
    password: Secret[str] | None = attrs.field(default=None, repr=False)
    authorization: Secret[str] | None = attrs.field(default=None, repr=False)
    forward: bool = False

    @classmethod
    def parse(cls, value: str | httpx.URL, *, source: str = "proxy=") -> ProxySettings:
        """Read a proxy URL, splitting off its credentials.

        Raises:
            ValueError: not an ``http://`` URL with a host (the message never quotes
                the credentials).
        """
        try:
            url = httpx.URL(str(value))
            host = url.host
        except (httpx.InvalidURL, ValueError):
            raise ValueError(f"{source} is not a valid proxy URL") from None
        if url.scheme not in _PROXY_SCHEMES or not host:
            shown = repr(str(url.copy_with(username=None, password=None))) if host else "no host"
            raise ValueError(
                f"{source} must be an http:// proxy URL with a host (HTTPS travels through "
                f"it with CONNECT); got {shown}"
            )
        bare = url.copy_with(username=None, password=None, path="/", query=None, fragment=None)
        if not url.userinfo:
            return cls(url=str(bare).rstrip("/"))
        return cls(
            url=str(bare).rstrip("/"),
            username=Secret(url.username),
            password=Secret(url.password),
            authorization=Secret(
                "Basic "
                + base64.b64encode(f"{url.username}:{url.password}".encode()).decode("ascii")
            ),
        )

    def secret_forms(self) -> tuple[str, ...]:
        """Every form of the credentials that must never be shown (for the redactor)."""
        if self.username is None or self.password is None:
            return ()
        user, secret = self.username.get_secret_value(), self.password.get_secret_value()
        pair = f"{user}:{secret}"
        token = base64.b64encode(pair.encode()).decode("ascii")
        forms = {user, secret, pair, token, token.rstrip("="), token.replace("/", "\\/")}
        return tuple(form for form in forms if len(form) >= 3)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("proxy settings hold credentials and cannot be pickled")


def take_proxy(value: object, *, source: str = "proxy=") -> tuple[ProxySettings | None, str]:
    """Read a ``proxy=`` argument without raising, for the caller to drop the raw URL first.

    Returns:
        ``(settings, "")``; ``(None, "")`` for no proxy; or ``(None, problem)``, a message
        that names no credential, to raise once no frame holds the URL.
    """
    if value is None:
        return None, ""
    if not isinstance(value, str | httpx.URL):
        return None, f"{source} must be a URL string, not {type(value).__name__}"
    try:
        return ProxySettings.parse(value, source=source), ""
    except ValueError as exc:  # dropped here: its frames hold the URL
        return None, str(exc)


def proxy_from_env(base_url: str) -> tuple[ProxySettings | None, str]:
    """The proxy the environment names for *base_url*, or ``None`` (NO_PROXY honoured)."""
    import urllib.request  # only when asked: it imports http.client, email, ...

    proxies = urllib.request.getproxies_environment()
    url = httpx.URL(base_url)
    value = proxies.get(url.scheme) or proxies.get("all")
    if not value:
        return None, ""
    if _bypassed(url, proxies.get("no", "")):
        return None, ""
    return take_proxy(value, source=f"${url.scheme.upper()}_PROXY")


def _bypassed(url: httpx.URL, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts *url*'s host: ``*``, the host (with or without the
    port), or a domain it is in (``example.com`` and ``.example.com`` both match
    ``api.example.com``)."""
    host = url.host.lower()
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and (not entry_port.isdigit() or int(entry_port) != port):
            continue
        name = name.strip("[]").lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def ssl_context(verify: VerifyTypes, cert: CertTypes | None, trust_env: bool) -> ssl.SSLContext:
    """Build the one TLS context of a client from *verify*, *cert* and *trust_env*.

    Raises:
        ValueError: *verify* names no file or directory, or *cert* cannot be loaded.
    """
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
        capath = os.environ.get("SSL_CERT_DIR") if trust_env else None
        if cafile and os.path.isfile(cafile):
            capath = None
        elif capath and os.path.isdir(capath):
            cafile = None
        else:
            cafile = capath = None
        if cert is None:
            return _default_context(cafile, capath)  # shared: nothing is loaded into it
        context = _new_default_context(cafile, capath)
    else:
        path = os.fspath(verify)
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        elif os.path.isfile(path):
            try:
                context = ssl.create_default_context(cafile=path)
            except ssl.SSLError as exc:
                raise ValueError(f"verify={path!r} holds no PEM CA certificate: {exc}") from None
        else:
            raise ValueError(f"verify={path!r} names no CA bundle file or directory")
    if cert is not None:
        certfile, keyfile = (cert, None) if not isinstance(cert, tuple) else cert
        try:
            context.load_cert_chain(
                os.fspath(certfile), None if keyfile is None else os.fspath(keyfile)
            )
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cert= could not be loaded: {exc}") from None
    return context


def _new_default_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        import certifi  # httpx's own dependency, and its default CA bundle

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


@functools.lru_cache(maxsize=4)
def _default_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # Loading a CA bundle takes tens of milliseconds: once per process, not per client.
    return _new_default_context(cafile, capath)


@attrs.frozen
class NetworkSettings:
    """How a client reaches the API: the proxy (if any) and the TLS context.

    Attributes:
        proxy: the proxy every request goes through, or ``None``.
        ssl: the TLS context of every connection.
        trust_env: whether the environment was consulted.
    """

    proxy: ProxySettings | None
    ssl: ssl.SSLContext = attrs.field(repr=False)
    trust_env: bool = True

    @classmethod
    def resolve(
        cls,
        base_url: str,
        *,
        proxy: ProxySettings | None,
        trust_env: bool,
        verify: VerifyTypes,
        cert: CertTypes | None,
    ) -> NetworkSettings:
        """Resolve a client's arguments (and, with *trust_env*, the environment).

        *proxy* comes read by `take_proxy`, so that no frame below the client's
        constructor holds the URL with its credentials; ``None`` reads the environment
        (with *trust_env*).

        Raises:
            ValueError: a setting is not usable (the message names no credential).
        """
        chosen, problem = proxy, ""
        if chosen is None and trust_env:
            chosen, problem = proxy_from_env(base_url)
        if problem:
            raise ValueError(problem)
        if chosen is not None and base_url.startswith("http://"):
            chosen = attrs.evolve(chosen, forward=True)
        return cls(proxy=chosen, ssl=ssl_context(verify, cert, trust_env), trust_env=trust_env)
