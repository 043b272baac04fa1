"""Deep linking (IMS LTI Deep Linking 2.0): an instructor or TA picks an offering of the course on the tool's
page, and the tool answers the platform with a signed LtiDeepLinkingResponse holding that one resource link: an
ltiResourceLink content item whose custom parameter names the offering (its first launch remembers it) and the
line item the platform makes for its grades. The picker carries the request in a signed, timestamped ticket,
so the answer needs no session and a ticket cannot be made or changed by anyone but the tool."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass

from itsdangerous import BadData, URLSafeTimedSerializer
from jwcrypto import jwt

from service.lti import keys
from service.lti.launch import CLAIM, VERSION, Launch
from service.lti.launchers import OFFERING_PARAMETER
from service.store import Platform, Store

RESPONSE = "LtiDeepLinkingResponse"
TICKET_LIFETIME = 900        # seconds an instructor has to pick
RESPONSE_LIFETIME = 300
_SALT = "grader.lti-deep-link"


@dataclass(frozen=True)
class Picking:
    """A deep linking request being answered: for which platform, deployment and course, back to where."""

    platform_id: int
    deployment_id: str
    course: str
    return_url: str
    data: str | None


def _serializer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def ticket(secret: bytes, launch: Launch, platform_id: int, course: str) -> str:
    """The picker's ticket for this verified deep linking request."""
    picking = Picking(platform_id, launch.deployment_id, course, launch.deep_link_return_url or "",
                      launch.deep_link_data)
    return _serializer(secret).dumps(asdict(picking))


def read_ticket(secret: bytes, value: object) -> Picking | None:
    """The request a ticket carries; None when it is not one of ours, changed, or older than its lifetime."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        return Picking(**_serializer(secret).loads(value, max_age=TICKET_LIFETIME))
    except (BadData, TypeError):
        return None


def content_item(launch_url: str, assignment: str, title: str, max_score: float) -> dict:
    """The resource link for an offering, with the line item its grades go to (resourceId: the assignment)."""
    return {"type": "ltiResourceLink", "title": title, "url": launch_url,
            "custom": {OFFERING_PARAMETER: assignment},
            "lineItem": {"scoreMaximum": max_score, "label": title, "resourceId": assignment, "tag": "grade"}}


def response_token(store: Store, platform: Platform, picking: Picking, item: dict) -> str:
    """The LtiDeepLinkingResponse JWT, signed with the tool's current key: from our client id to the platform."""
    key = keys.current(store)
    issued = int(time.time())
    claims = {"iss": platform.client_id, "aud": platform.issuer, "iat": issued, "exp": issued + RESPONSE_LIFETIME,
              "nonce": secrets.token_urlsafe(16), CLAIM + "deployment_id": picking.deployment_id,
              CLAIM + "message_type": RESPONSE, CLAIM + "version": VERSION,
              "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [item]}
    if picking.data is not None:
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = picking.data
    token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", "kid": key["kid"]}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()
