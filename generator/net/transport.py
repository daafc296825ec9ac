"""requests, sent through connections that go only to addresses the guard vetted.

``Transport`` is shared by all threads of a run: one adapter, one connection pool per host
sized to the host's concurrency limit, CA bundle and proxies looked up once. urllib3's
connection keeps the host name for the Host header, TLS SNI and the certificate check; only
the socket is opened to the vetted address, so a DNS answer that changes after the check
(DNS rebinding) is never used. Every socket is also put under the calling thread's
``deadline``, so a trickling server is cut at the deadline.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from generator.net import deadline
from generator.net.guard import AddressGuard
from generator.net.policy import USER_AGENT


def _open(conn: HTTPConnection, guard: AddressGuard) -> socket.socket:
    """urllib3's ``_new_conn``, connecting to the vetted addresses in turn."""
    addresses = guard.vet(conn._dns_host)  # GuardError propagates past urllib3 untouched
    failure: Exception | None = None
    for address in addresses:
        try:
            sock = urllib3_connection.create_connection(
                (str(address), conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            failure = ConnectTimeoutError(conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})")
            failure.__cause__ = exc
            continue
        except OSError as exc:
            failure = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
            failure.__cause__ = exc
            continue
        deadline.track(sock)
        return sock
    assert failure is not None  # vet() never returns an empty tuple
    raise failure


def _pool_classes(guard: AddressGuard) -> dict[str, type[HTTPConnectionPool]]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _open(self, guard)

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:  # a kept-alive connection, reused under a new deadline
                deadline.track(self.sock)
            super().request(*args, **kwargs)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _open(self, guard)

        def request(self, *args: Any, **kwargs: Any) -> None:
            if self.sock is not None:
                deadline.track(self.sock)
            super().request(*args, **kwargs)

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class _Adapter(HTTPAdapter):
    def __init__(self, guard: AddressGuard, pool_size: Callable[[str], int], hosts: int) -> None:
        self._guard = guard
        self._pool_size = pool_size
        self._keys: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        # Retries are the caller's policy; urllib3 must not add hidden ones.
        super().__init__(pool_connections=hosts, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._guard)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # requests rebuilds this (with a stat of the CA bundle) on every request; once per
        # origin is enough, and the pool of a host holds as many sockets as it may use.
        parts = urlsplit(request.url or "")
        key = (parts.scheme, parts.netloc)
        found = self._keys.get(key)  # a dict read is atomic; two threads may both fill it in, harmlessly
        if found is None:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
            pool_kwargs["maxsize"] = self._pool_size(host_params["host"] or "")
            found = self._keys[key] = (host_params, pool_kwargs)
        return dict(found[0]), dict(found[1])

    # What requests does per request that this project never needs (no cookies, no proxy
    # for most origins): skipped, because at thousands of links it is most of the CPU.

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> HTTPConnectionPool:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        if proxies:
            return super().request_url(request, proxies)
        return request.path_url

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url or ""
        response.request = req
        response.connection = self
        return response

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if getattr(conn, "_sku_verify", None) == (verify, cert):
            return
        super().cert_verify(conn, url, verify, cert)
        conn._sku_verify = (verify, cert)


def _ca_bundle() -> str | bool:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


class Transport:
    """Sends requests through the guard; thread-safe, one per run."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        headers: Mapping[str, str] | None = None,
        pool_size: Callable[[str], int] = lambda host: 2,
        hosts: int = 256,
    ) -> None:
        self.guard = guard
        self._adapter = _Adapter(guard, pool_size, hosts)
        self._headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
        self._headers.update(headers or {})
        self._verify = _ca_bundle()
        self._proxies: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def _proxies_for(self, parts: Any) -> dict[str, str]:
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            found = self._proxies.get(origin)
        if found is None:
            found = requests.utils.get_environ_proxies(origin + "/")
            with self._lock:
                self._proxies[origin] = found
        return found

    def send(
        self,
        method: str,
        url: str,
        *,
        timeout: tuple[float, float],
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One request, redirects not followed, body streamed (the caller closes it).

        Raises ``GuardError`` for a refused or unresolvable host, else requests' exceptions.
        """
        parts = urlsplit(url)
        proxies = self._proxies_for(parts)
        if proxies and requests.utils.select_proxy(url, proxies):
            # Through a proxy the proxy connects, so the name can only be vetted, not pinned.
            self.guard.vet(parts.hostname or "")
        prepared = requests.PreparedRequest()
        # method, URL (IDNA, percent-encoding) and headers as requests prepares them; no
        # cookies, auth or body, which a checker never sends
        prepared.prepare_method(method)
        prepared.prepare_url(url, None)
        prepared.prepare_headers({**self._headers, **(headers or {})})
        prepared.prepare_hooks(None)
        return self._adapter.send(prepared, stream=True, timeout=timeout, verify=self._verify, proxies=proxies)

    def close(self) -> None:
        self._adapter.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
