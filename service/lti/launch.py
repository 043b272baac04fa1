"""What an LTI 1.3 launch must be to be believed: an id_token signed (RS256) by the platform's key, for this
tool, fresh, answering the login we started, from a registered deployment, of a message type and version we
speak, with the claims a launch needs. The signature is jwcrypto's; the claims are read here."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from grader import catalogue
from service.store import Platform
from service.store.lti import LOGIN_LIFETIME

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
VERSION = "1.3.0"
LEEWAY = 60       # seconds of clock difference allowed between the platform and us


class Refused(Exception):
    """A launch (or login) the tool does not accept: a key of the catalogue's pages (and its facts) saying why,
    for the page in the user's language; its English text is the log's."""

    def __init__(self, key: str, **facts: str) -> None:
        super().__init__(catalogue.text("pages", key, "en") % facts)
        self.key, self.facts = key, facts

    def said(self, lang: str) -> str:
        return catalogue.text("pages", self.key, lang) % self.facts


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
    custom: dict[str, str] = field(default_factory=dict)      # the link's custom parameters (our deep link's)
    memberships_url: str | None = None      # NRPS: the context's membership service
    lineitems_url: str | None = None        # AGS: the context's line items
    lineitem_url: str | None = None         # AGS: the line item of this resource link, when the platform made one
    deep_link_return_url: str | None = None  # deep linking: where the chosen content goes back to
    deep_link_data: str | None = None       # deep linking: the platform's opaque value, returned as given


def header(token: str) -> dict[str, Any]:
    """The token's protected header (its kid picks the platform key), before anything is believed."""
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        found = signed.jose_header
    except (JWException, ValueError, TypeError, KeyError):
        raise Refused("lti_not_a_jwt") from None
    if not isinstance(found, dict) or found.get("alg") != "RS256":
        raise Refused("lti_not_rs256")
    return found


def locale_hint(token: str) -> str | None:
    """The launch's locale as its (not yet verified) claims give it: only to say a refusal in the user's
    language, never believed for anything else."""
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        claims = json.loads(signed.objects.get("payload", b"") or b"{}")
        locale = claims.get(CLAIM + "launch_presentation", {}).get("locale")
    except (JWException, ValueError, TypeError, KeyError, AttributeError):
        return None
    return locale[:20] if isinstance(locale, str) else None


def verify(token: str, key: jwk.JWK, platform: Platform, nonce: str, at: float) -> Launch:
    """The launch the token states, once its signature, audience, times, nonce and claims hold."""
    try:
        claims = json.loads(jwt.JWT(jwt=token, key=key, algs=["RS256"], check_claims=False,
                                    expected_type="JWS").claims)
    except (JWException, ValueError, TypeError):
        raise Refused("lti_bad_signature") from None
    if not isinstance(claims, dict):
        raise Refused("lti_bad_claims")
    if claims.get("iss") != platform.issuer:
        raise Refused("lti_wrong_issuer")
    _audience(claims, platform.client_id)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or not _number(iat):
        raise Refused("lti_no_times")
    if exp < at - LEEWAY:
        raise Refused("lti_expired")
    if iat > at + LEEWAY:
        raise Refused("lti_future")
    if iat < at - LOGIN_LIFETIME.total_seconds():
        raise Refused("lti_too_old")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
        raise Refused("lti_wrong_nonce")
    deployment = _text(claims, CLAIM + "deployment_id")
    if deployment not in platform.deployments:
        raise Refused("lti_unknown_deployment")
    message_type = _text(claims, CLAIM + "message_type")
    if message_type not in MESSAGE_TYPES:
        raise Refused("lti_message_type", types=", ".join(MESSAGE_TYPES))
    if _text(claims, CLAIM + "version") != VERSION:
        raise Refused("lti_version", version=VERSION)
    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Refused("lti_no_roles")
    link, context = _object(claims, CLAIM + "resource_link"), _object(claims, CLAIM + "context")
    if message_type == RESOURCE_LINK_REQUEST and not isinstance(link.get("id"), str):
        raise Refused("lti_no_resource_link")
    settings = _object(claims, DEEP_LINKING_CLAIM)
    if message_type == DEEP_LINKING_REQUEST and not _web_address(settings.get("deep_link_return_url")):
        raise Refused("lti_no_return_url")
    presentation = _object(claims, CLAIM + "launch_presentation")
    ags = _object(claims, AGS_CLAIM)
    custom = {k[:100]: v[:200] for k, v in _object(claims, CLAIM + "custom").items() if isinstance(v, str)}
    return Launch(issuer=platform.issuer, subject=_text(claims, "sub"), roles=tuple(roles),
                  name=_optional(claims, "name"), email=_optional(claims, "email"), deployment_id=deployment,
                  message_type=message_type, context_id=_optional(context, "id") or None,
                  context_title=_optional(context, "title"), resource_link_id=link.get("id"),
                  locale=_optional(presentation, "locale") or None, custom=custom,
                  memberships_url=_url(_object(claims, NRPS_CLAIM).get("context_memberships_url")),
                  lineitems_url=_url(ags.get("lineitems")), lineitem_url=_url(ags.get("lineitem")),
                  deep_link_return_url=_url(settings.get("deep_link_return_url")),
                  deep_link_data=settings["data"][:2000] if isinstance(settings.get("data"), str) else None)


def _audience(claims: dict, client_id: str) -> None:
    """aud names this tool's client id; with several audiences, azp must name it too (OIDC core 3.1.3.7)."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise Refused("lti_wrong_audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise Refused("lti_wrong_azp")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(claims: dict, name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise Refused("lti_missing_claim", claim=name)
    return value


def _optional(claims: dict, name: str) -> str:
    value = claims.get(name)
    return value[:200] if isinstance(value, str) else ""


def _web_address(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000


def _url(value: object) -> str | None:
    """A service URL the platform gave, if it is one (anything else is as if not given)."""
    return value if _web_address(value) else None


def _object(claims: dict, name: str) -> dict:
    value = claims.get(name)
    return value if isinstance(value, dict) else {}
