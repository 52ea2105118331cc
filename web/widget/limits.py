"""Rate limits of the widget's visitors, per visitor and per client IP, across all their sockets and
HTTP requests in this process (each process counts on its own: with N web processes a visitor may get
up to N times the allowance; good enough against a runaway script, not a distributed quota).

A limit is a token bucket per key; buckets that are full again are forgotten, so memory follows the
visitors active in the last minute or so, not every visitor ever seen."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PRUNE_AT = 10_000  # keys kept before full buckets are swept out


@dataclass
class _Bucket:
    allowance: float
    checked: float
    refused: bool = False  # the last take was refused: logged once per run of refusals


@dataclass
class Limiter:
    """`burst` takes at once, refilled at `rate` per second, per key."""

    name: str
    burst: float
    rate: float
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _bucket(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= PRUNE_AT:
                self._prune(now)
            bucket = self.buckets[key] = _Bucket(self.burst, now)
        bucket.allowance = min(self.burst, bucket.allowance + (now - bucket.checked) * self.rate)
        bucket.checked = now
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until `key` may take one (0: now)."""
        bucket = self._bucket(key)
        return 0.0 if bucket.allowance >= 1 else (1 - bucket.allowance) / self.rate

    def take(self, key: str) -> None:
        bucket = self._bucket(key)
        bucket.allowance -= 1
        bucket.refused = False

    def refused(self, key: str) -> bool:
        """Mark `key` refused; True the first time in a run (the time to log it)."""
        bucket = self._bucket(key)
        first, bucket.refused = not bucket.refused, True
        return first

    def _prune(self, now: float) -> None:
        for key, bucket in list(self.buckets.items()):
            if bucket.allowance + (now - bucket.checked) * self.rate >= self.burst:
                del self.buckets[key]


@dataclass
class Limits:
    visitor: Limiter
    ip: Limiter
    connects: Limiter  # new sockets and event streams per IP

    def check(self, pairs: Sequence[tuple[Limiter, str]], **context: object) -> int:
        """Take one from each (limiter, key) if all allow it; else take none and return the whole
        seconds to wait (logged once per run of refusals, with the visitor and IP, never a token)."""
        waits = [(limiter.wait(key), limiter, key) for limiter, key in pairs]
        seconds, limiter, key = max(waits, key=lambda w: w[0])
        if seconds <= 0:
            for _, each, each_key in waits:
                each.take(each_key)
            return 0
        retry_after = max(1, math.ceil(seconds))
        if limiter.refused(key):
            log.warning("widget rate limited", extra={"limit": limiter.name, "retry_after": retry_after,
                                                      **context})
        return retry_after


def parse_networks(value: str) -> list[Network]:
    """`TRUSTED_PROXIES`: comma-separated addresses or networks (10.0.0.0/8, 127.0.0.1)."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def client_ip(request: web.Request, trusted: Sequence[Network]) -> str:
    """The visitor's address: the peer's, unless the peer is a trusted proxy; then the nearest address
    in X-Forwarded-For that is not one (a client can write anything at the left end of the header)."""
    peer = request.remote or ""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for header in request.headers.getall("X-Forwarded-For", ()) for hop in header.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        if not _trusted(hop, trusted):
            return hop if _address(hop) else peer
    return peer


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(value: str, trusted: Sequence[Network]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in trusted)
