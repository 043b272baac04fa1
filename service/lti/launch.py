"""What an LTI 1.3 launch must be to be believed: an id_token signed (RS256) by the platform's key, for this
tool, fresh, answering the login we started, from a registered deployment, of a message type and version we
speak, with the claims a launch needs. The signature is jwcrypto's; the claims are read here."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from service.store import Platform
from service.store.lti import LOGIN_LIFETIME

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST,)
VERSION = "1.3.0"
LEEWAY = 60       # seconds of clock difference allowed between the platform and us


class Refused(Exception):
    """A launch (or login) the tool does not accept; the message says why, for the page and the log."""


@dataclass(frozen=True)
class Launch:
    """A verified launch: who, in which role, from where."""

    issuer: str
    subject: str
    roles: tuple[str, ...]
    name: str
    email: str
    deployment_id: str
    message_type: str
    context_id: str | None
    context_title: str
    resource_link_id: str | None
    locale: str | None


def header(token: str) -> dict[str, Any]:
    """The token's protected header (its kid picks the platform key), before anything is believed."""
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        found = signed.jose_header
    except (JWException, ValueError, TypeError, KeyError):
        raise Refused("the id_token is not a signed JWT") from None
    if not isinstance(found, dict) or found.get("alg") != "RS256":
        raise Refused("the id_token is not signed with RS256")
    return found


def verify(token: str, key: jwk.JWK, platform: Platform, nonce: str, at: float) -> Launch:
    """The launch the token states, once its signature, audience, times, nonce and claims hold."""
    try:
        claims = json.loads(jwt.JWT(jwt=token, key=key, algs=["RS256"], check_claims=False,
                                    expected_type="JWS").claims)
    except (JWException, ValueError, TypeError):
        raise Refused("the id_token's signature does not verify with the platform's key") from None
    if not isinstance(claims, dict):
        raise Refused("the id_token's claims are not an object")
    if claims.get("iss") != platform.issuer:
        raise Refused("the id_token's issuer is not the platform the login was for")
    _audience(claims, platform.client_id)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or not _number(iat):
        raise Refused("the id_token lacks exp or iat")
    if exp < at - LEEWAY:
        raise Refused("the id_token has expired")
    if iat > at + LEEWAY:
        raise Refused("the id_token is issued in the future")
    if iat < at - LOGIN_LIFETIME.total_seconds():
        raise Refused("the id_token was issued too long ago")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
        raise Refused("the id_token's nonce is not the one of this login (replayed?)")
    deployment = _text(claims, CLAIM + "deployment_id")
    if deployment not in platform.deployments:
        raise Refused("the launch is from a deployment that is not registered")
    message_type = _text(claims, CLAIM + "message_type")
    if message_type not in MESSAGE_TYPES:
        raise Refused(f"the message type is not one this tool takes ({', '.join(MESSAGE_TYPES)})")
    if _text(claims, CLAIM + "version") != VERSION:
        raise Refused(f"the LTI version is not {VERSION}")
    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Refused("the launch lacks the roles claim")
    link, context = _object(claims, CLAIM + "resource_link"), _object(claims, CLAIM + "context")
    if message_type == RESOURCE_LINK_REQUEST and not isinstance(link.get("id"), str):
        raise Refused("the launch lacks the resource link's id")
    presentation = _object(claims, CLAIM + "launch_presentation")
    return Launch(issuer=platform.issuer, subject=_text(claims, "sub"), roles=tuple(roles),
                  name=_optional(claims, "name"), email=_optional(claims, "email"), deployment_id=deployment,
                  message_type=message_type, context_id=_optional(context, "id") or None,
                  context_title=_optional(context, "title"), resource_link_id=link.get("id"),
                  locale=_optional(presentation, "locale") or None)


def _audience(claims: dict, client_id: str) -> None:
    """aud names this tool's client id; with several audiences, azp must name it too (OIDC core 3.1.3.7)."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise Refused("the id_token is not for this tool (aud)")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise Refused("the id_token's authorized party (azp) is not this tool")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(claims: dict, name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(f"the launch lacks the claim {name}")
    return value


def _optional(claims: dict, name: str) -> str:
    value = claims.get(name)
    return value[:200] if isinstance(value, str) else ""


def _object(claims: dict, name: str) -> dict:
    value = claims.get(name)
    return value if isinstance(value, dict) else {}
