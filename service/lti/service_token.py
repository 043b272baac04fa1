"""An OAuth2 access token for a platform's LTI Advantage services (AGS scores, NRPS rosters): the client
credentials grant with a JWT assertion the tool signs with its current key (IMS Security Framework 4.1),
asked for with an async client so no request or worker waits on a slow platform longer than its timeouts."""

from __future__ import annotations

import secrets
import time

import httpx
from jwcrypto import jwt
from starlette.concurrency import run_in_threadpool

from service.lti import keys
from service.store import Platform, Store

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT = httpx.Timeout(10.0)
ASSERTION_LIFETIME = 300


class TokenRefused(Exception):
    """The platform gave no token (the message says what it answered)."""


def assertion(platform: Platform, store: Store) -> str:
    """The signed client assertion: issued by and about our client id, for the platform's token URL."""
    key = keys.current(store)
    issued = int(time.time())
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.token_url, "iat": issued,
              "exp": issued + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(16)}
    token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", "kid": key["kid"]}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


async def access_token(platform: Platform, store: Store, scopes: list[str]) -> str:
    """A bearer token for these scopes from the platform's token endpoint."""
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": await run_in_threadpool(assertion, platform, store), "scope": " ".join(scopes)}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            answer = await client.post(platform.token_url, data=form, headers={"Accept": "application/json"})
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise TokenRefused(f"the platform's token endpoint failed ({type(exc).__name__})") from None
    if answer.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        error = body.get("error") if isinstance(body, dict) else None
        raise TokenRefused(f"the platform's token endpoint answered {answer.status_code} {str(error)[:80]}")
    return body["access_token"]
