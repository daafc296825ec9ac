"""The one address guard: a name is resolved once per run, every address is vetted, and the
connection goes to a vetted address (so a second, different DNS answer is never used).

A survey link or sample that only resolves inside some network is useless to readers, and
a change to the data must not make CI or the Pages build probe its own network, so any
private, loopback, link-local, reserved or otherwise non-global address is refused unless
the run allows private addresses (``--allow-private``, used by tests on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from generator.errors import NetworkError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[..., Sequence[tuple[object, ...]]]

# One sentence whatever the resolver says (no such name, temporary failure, no resolver at
# all): the verdict must not depend on how a machine's DNS happens to fail.
DNS_FAILURE = "host not found (DNS)"
# A resolver that has not answered by then is taken as failed (a machine without DNS can
# take tens of seconds per name).
LOOKUP_TIMEOUT_S = 4.0


class GuardError(NetworkError):
    """A request that must not be, or cannot be, sent; ``reason`` is for a contributor."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressRefused(GuardError):
    """The host resolves to a non-public address."""


class LookupFailed(GuardError):
    """The name did not resolve."""


def address_kind(address: Address) -> str | None:
    """Why ``address`` is not public, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


@dataclass(frozen=True)
class _Lookup:
    addresses: tuple[Address, ...] = ()
    failure: str | None = None


class AddressGuard:
    """Resolves each host once per run (answers and failures both remembered) and vets it.

    Thread-safe; concurrent look-ups of one name wait for the first. ``resolve`` is
    ``socket.getaddrinfo``'s signature, replaceable to simulate a broken resolver.
    """

    def __init__(
        self,
        allow_private: bool = False,
        resolve: Resolve = socket.getaddrinfo,
        timeout: float = LOOKUP_TIMEOUT_S,
        allowed: frozenset[str] = frozenset(),
    ) -> None:
        self.allow_private = allow_private
        # exact addresses let through although private: a test's own server, nothing else
        self._allowed = frozenset(ipaddress.ip_address(a) for a in allowed)
        self._resolve = resolve
        self._timeout = timeout
        self._lock = threading.Lock()
        self._known: dict[str, _Lookup] = {}
        self._pending: dict[str, threading.Event] = {}
        self.lookups = 0  # names actually asked of the resolver

    def _start(self, host: str) -> tuple[str, threading.Event | None]:
        key = host.lower().rstrip(".")
        with self._lock:
            if key in self._known:
                return key, None
            waiting = self._pending.get(key)
            if waiting is None:
                waiting = self._pending[key] = threading.Event()
                self.lookups += 1
                # getaddrinfo cannot be given a timeout, so it runs aside and is waited for.
                threading.Thread(target=self._ask, args=(host, key, waiting), name="dns", daemon=True).start()
            return key, waiting

    def _lookup(self, host: str) -> _Lookup:
        key, waiting = self._start(host)
        if waiting is not None and not waiting.wait(self._timeout):
            self._settle(key, _Lookup(failure=DNS_FAILURE))
        with self._lock:
            return self._known[key]

    def prefetch(self, hosts: Iterable[str]) -> None:
        """Look all ``hosts`` up at once; on a machine whose resolver hangs, the whole
        batch costs one look-up timeout, not one per host."""
        started = [self._start(h) for h in hosts if h]
        until = time.monotonic() + self._timeout
        for key, waiting in started:
            if waiting is not None and not waiting.wait(max(0.0, until - time.monotonic())):
                self._settle(key, _Lookup(failure=DNS_FAILURE))

    def _ask(self, host: str, key: str, done: threading.Event) -> None:
        try:
            infos = self._resolve(host, None, type=socket.SOCK_STREAM)
            addresses = tuple(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))
            result = _Lookup(addresses) if addresses else _Lookup(failure=DNS_FAILURE)
        except (OSError, UnicodeError, ValueError) as exc:
            result = _Lookup(failure=DNS_FAILURE if isinstance(exc, OSError) else f"invalid host name {host!r}")
        self._settle(key, result)
        done.set()

    def _settle(self, key: str, result: _Lookup) -> None:
        # The first outcome stands for the whole run (a late answer after a timeout is
        # ignored), so every URL of a host gets the same verdict.
        with self._lock:
            self._known.setdefault(key, result)

    def vet(self, host: str) -> tuple[Address, ...]:
        """The addresses to connect to for ``host``; raises ``LookupFailed`` or ``AddressRefused``."""
        found = self._lookup(host)
        if found.failure is not None:
            raise LookupFailed(found.failure)
        if not self.allow_private:
            for address in found.addresses:
                kind = None if address in self._allowed else address_kind(address)
                if kind is not None:
                    raise AddressRefused(
                        f"{host} resolves to {kind} address {address}: not fetched "
                        "(a public link must not point into a private network; --allow-private fetches it anyway)"
                    )
        return found.addresses

    def resolved_any(self) -> bool:
        """Whether any name resolved in this run (false on a machine without network)."""
        with self._lock:
            return any(v.failure is None for v in self._known.values())

    def failed_hosts(self) -> int:
        with self._lock:
            return sum(v.failure is not None for v in self._known.values())
