"""Platforms' public keys, fetched from their JWKS URLs with an async client (a slow or silent platform holds
no request but its own launch) and cached per URL. A kid not in the cache is fetched again, at most once per
`refetch_after` (GRADER_LTI_JWKS_REFETCH_AFTER) per URL, so a platform's key rotation is picked up and forged
kids cannot make us hammer it."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
from jwcrypto import jwk

MAX_BYTES = 256 * 1024      # a JWKS is a few kilobytes
KEEP_FOR = 3600.0           # seconds a fetched set is trusted before it is fetched again


class KeysUnavailable(Exception):
    """The platform's JWKS could not be fetched or read (the message says why, for the log and the page)."""


@dataclass
class _Fetched:
    keys: jwk.JWKSet
    at: float


@dataclass
class PlatformKeys:
    """The cache, one per API process."""

    timeout: float              # seconds a fetch may take (GRADER_LTI_JWKS_TIMEOUT)
    refetch_after: float        # an unknown kid fetches again no sooner than this after the last fetch
    cached: dict[str, _Fetched] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def key(self, jwks_url: str, kid: str | None) -> jwk.JWK | None:
        """The platform's key with this kid (None: the platform publishes none such)."""
        lock = self.locks.setdefault(jwks_url, asyncio.Lock())
        async with lock:
            known = self.cached.get(jwks_url)
            age = time.monotonic() - known.at if known else None
            found = _find(known.keys, kid) if known else None
            if found is None and (age is None or age > self.refetch_after) or (age is not None and age > KEEP_FOR):
                known = self.cached[jwks_url] = _Fetched(await _fetch(jwks_url, self.timeout), time.monotonic())
                found = _find(known.keys, kid)
            return found


def _find(keys: jwk.JWKSet, kid: str | None) -> jwk.JWK | None:
    if kid is None:
        only = list(keys)
        return only[0] if len(only) == 1 else None     # a kid-less token only against a one-key set
    return keys.get_key(kid)


async def _fetch(url: str, timeout: float) -> jwk.JWKSet:
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            async with client.stream("GET", url, headers={"Accept": "application/json"}) as answer:
                if answer.status_code != 200:
                    raise KeysUnavailable(f"the platform's JWKS answered {answer.status_code}")
                body = b""
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise KeysUnavailable("the platform's JWKS is too large")
    except httpx.HTTPError as exc:
        raise KeysUnavailable(f"the platform's JWKS could not be fetched ({type(exc).__name__})") from None
    try:
        return jwk.JWKSet.from_json(body)
    except (ValueError, TypeError, json.JSONDecodeError, jwk.InvalidJWKValue) as exc:
        raise KeysUnavailable(f"the platform's JWKS is not a key set ({type(exc).__name__})") from None
