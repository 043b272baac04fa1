"""A test LTI 1.3 platform, as a real one answers over HTTP on a free local port: its OIDC auth endpoint
(which posts a signed id_token back to the tool, as a browser's auto-submitted form would), its JWKS,
its OAuth2 token endpoint (client credentials by a JWT assertion the tool signs, checked against the
tool's own /lti/jwks), its deep-linking return URL (the tool's signed LtiDeepLinkingResponse, checked the
same way), its NRPS 2.0 membership service (paged by Link: rel="next") and its AGS 2.0 line items and scores
(bearer tokens from /token only, for their scopes).
Real RSA keys and JOSE by jwcrypto; the test mints bad tokens through `mint`."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from jwcrypto import jwk, jwt

from service.lti.launch import CLAIM
from service.processes import free_port

DROP = object()      # a claim override that removes the claim
AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


def new_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, kid=secrets.token_hex(6), alg="RS256", use="sig")


@dataclass
class User:
    sub: str
    name: str
    email: str
    roles: list[str]


@dataclass
class LtiTestPlatform:
    client_id: str = "grader-client"
    deployment_id: str = "deployment-1"
    tool_url: str = ""                 # the tool's base URL (redirect_uri and its JWKS are found there)
    key: jwk.JWK = field(default_factory=new_key)
    published: list[jwk.JWK] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)      # by login_hint
    jwks_stall: float = 0.0            # seconds /slow-jwks waits before answering
    lineitems_stall: float = 0.0       # seconds a line items listing takes to arrive (a slow LMS)
    tokens_issued: list[dict] = field(default_factory=list)   # the assertions /token accepted
    deep_links: list[dict] = field(default_factory=list)      # the LtiDeepLinkingResponses /deep-link-return took
    members: list[dict] = field(default_factory=list)         # the course's NRPS membership entries
    page_size: int = 2                 # members per page of /memberships (the rest behind Link: rel="next")
    access_tokens: dict[str, str] = field(default_factory=dict)   # bearer token -> the scopes it was issued for
    lineitems: list[dict] = field(default_factory=list)       # the context's AGS line items
    scores: list[tuple[str, dict]] = field(default_factory=list)   # (line item id, score) as /scores took them
    refuse_scores: int = 0             # the next this many score posts are answered 503
    message_hints: dict[str, dict] = field(default_factory=dict)   # lti_message_hint -> the launch's overrides

    def __post_init__(self) -> None:
        self.published = [self.key]
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def urls(self) -> dict[str, str]:
        """Its registration, as `grader lti add-platform` takes it."""
        return {"issuer": self.issuer, "client_id": self.client_id, "deployment_id": self.deployment_id,
                "auth_url": f"{self.issuer}/auth", "token_url": f"{self.issuer}/token",
                "jwks_url": f"{self.issuer}/jwks"}

    def start(self) -> LtiTestPlatform:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rotate(self) -> None:
        """A new signing key, published beside the old one."""
        self.key = new_key()
        self.published.insert(0, self.key)

    def claims(self, user: User, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": self.client_id, "sub": user.sub, "exp": now + 300, "iat": now,
                "nonce": nonce, "name": user.name, "email": user.email,
                CLAIM + "deployment_id": self.deployment_id, CLAIM + "message_type": "LtiResourceLinkRequest",
                CLAIM + "version": "1.3.0", CLAIM + "roles": user.roles,
                CLAIM + "resource_link": {"id": "link-1", "title": "Backprop"},
                CLAIM + "context": {"id": "course-1", "title": "Deep Learning 2026"},
                CLAIM + "target_link_uri": f"{self.tool_url}/lti/launch",
                "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                    "scope": [AGS_SCOPE + "lineitem", AGS_SCOPE + "score"], "lineitems": f"{self.issuer}/lineitems"},
                "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                    "context_memberships_url": f"{self.issuer}/memberships", "service_versions": ["2.0"]},
                CLAIM + "launch_presentation": {"locale": "ja"}}

    def mint(self, user: User, login_nonce: str, key: jwk.JWK | None = None, kid: str | None = None,
             **overrides: Any) -> str:
        """An id_token for `user`, signed with `key` (the platform's own by default) under `kid`; a claim
        overridden (names with '__' for the LTI claims' URL prefix) or dropped with DROP."""
        claims = self.claims(user, login_nonce)
        for name, value in overrides.items():
            name = CLAIM + name[2:] if name.startswith("__") else name
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = key or self.key
        token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", "kid": kid or key["kid"]}, claims=claims)
        token.make_signed_token(key)
        return token.serialize()

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """The OIDC auth endpoint: checks the request as a platform must, answers the form_post page."""
        expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                    "prompt": "none", "client_id": self.client_id, "redirect_uri": f"{self.tool_url}/lti/launch"}
        wrong = [k for k, v in expected.items() if query.get(k) != v]
        user = self.users.get(query.get("login_hint", ""))
        if wrong or user is None or not query.get("state") or not query.get("nonce"):
            return 400, f"bad authorization request: {wrong or 'login_hint, state or nonce'}"
        overrides = self.message_hints.get(query.get("lti_message_hint", ""), {})
        fields = {"id_token": self.mint(user, query["nonce"], **overrides), "state": query["state"]}
        inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())
        return 200, (f'<form method="post" action="{html.escape(query["redirect_uri"])}">{inputs}</form>'
                     "<script>document.forms[0].submit()</script>")

    def deep_linking_claims(self, data: str = "platform-opaque-data") -> dict[str, Any]:
        """The claims that make a launch an LtiDeepLinkingRequest (mint's overrides), returning to this platform."""
        return {"__message_type": "LtiDeepLinkingRequest", "__resource_link": DROP,
                "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                    "deep_link_return_url": f"{self.issuer}/deep-link-return", "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe", "window"], "data": data}}

    def _tool_keys(self) -> jwk.JWKSet:
        return jwk.JWKSet.from_json(httpx.get(f"{self.tool_url}/lti/jwks", timeout=5).content)

    def deep_link_return(self, form: dict[str, str]) -> tuple[int, str]:
        """The deep_link_return_url: the tool's response, verified with its published key as a platform must."""
        try:
            answer = jwt.JWT(jwt=form.get("JWT", ""), key=self._tool_keys(), algs=["RS256"],
                             check_claims={"iss": self.client_id, "aud": self.issuer, "exp": None, "nonce": None})
        except Exception as exc:   # noqa: BLE001 - any refusal is the same answer
            return 400, f"bad deep linking response: {type(exc).__name__}"
        self.deep_links.append(json.loads(answer.claims))
        return 200, "<p>linked</p>"

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        """OAuth2 client credentials with a JWT assertion signed by the tool (its key from the tool's JWKS)."""
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            assertion = jwt.JWT(jwt=form.get("client_assertion", ""), key=self._tool_keys(), algs=["RS256"],
                                check_claims={"iss": self.client_id, "sub": self.client_id,
                                              "aud": f"{self.issuer}/token", "exp": None, "jti": None})
        except Exception as exc:   # noqa: BLE001 - any refusal is the same OAuth2 error to the client
            return 401, {"error": "invalid_client", "error_description": type(exc).__name__}
        self.tokens_issued.append(json.loads(assertion.claims))
        access = secrets.token_urlsafe(16)
        self.access_tokens[access] = form.get("scope", "")
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                     "scope": form.get("scope", "")}

    def authorized(self, header: str | None, scope: str) -> bool:
        """Whether a request's bearer token was issued by /token for this scope."""
        scheme, _, token = (header or "").partition(" ")
        return scheme == "Bearer" and scope in self.access_tokens.get(token, "").split()

    def list_lineitems(self, query: dict[str, str], authorization: str | None) -> tuple:
        """AGS 2.0: the line items, filtered by resource_link_id, resource_id and tag as the query says."""
        if not self.authorized(authorization, AGS_SCOPE + "lineitem"):
            return 401, {"error": "invalid_token"}, {}
        names = {"resource_link_id": "resourceLinkId", "resource_id": "resourceId", "tag": "tag"}
        found = [i for i in self.lineitems if all(i.get(names[k]) == v for k, v in query.items() if k in names)]
        time.sleep(self.lineitems_stall)           # the answer as it stood when asked, arriving late
        return 200, found, {"Content-Type": "application/vnd.ims.lis.v2.lineitemcontainer+json"}

    def add_lineitem(self, body: dict, authorization: str | None) -> tuple:
        if not self.authorized(authorization, AGS_SCOPE + "lineitem"):
            return 401, {"error": "invalid_token"}, {}
        if not isinstance(body.get("scoreMaximum"), int | float) or not body.get("label"):
            return 400, {"error": "a line item needs scoreMaximum and label"}, {}
        item = {**body, "id": f"{self.issuer}/lineitems/{len(self.lineitems) + 1}"}
        self.lineitems.append(item)
        return 201, item, {"Content-Type": "application/vnd.ims.lis.v2.lineitem+json"}

    def post_score(self, path: str, body: dict, authorization: str | None, kind: str | None) -> tuple:
        """AGS 2.0 scores: the line item's, with the fields the spec requires."""
        lineitem = f"{self.issuer}{path.removesuffix('/scores')}"
        if not self.authorized(authorization, AGS_SCOPE + "score"):
            return 401, {"error": "invalid_token"}, {}
        if kind != "application/vnd.ims.lis.v1.score+json" or lineitem not in {i["id"] for i in self.lineitems}:
            return 400 if lineitem in {i["id"] for i in self.lineitems} else 404, {"error": "bad score post"}, {}
        required = ("userId", "activityProgress", "gradingProgress", "timestamp")
        if any(k not in body for k in required) or ("scoreGiven" in body) != ("scoreMaximum" in body):
            return 400, {"error": "missing fields"}, {}
        if self.refuse_scores > 0:
            self.refuse_scores -= 1
            return 503, {"error": "try later"}, {}
        self.scores.append((lineitem, body))
        return 200, {}, {}

    def memberships(self, query: dict[str, str], authorization: str | None, accept: str | None) -> tuple:
        """NRPS 2.0: one page of the membership container; (status, body, headers)."""
        if not self.authorized(authorization, NRPS_SCOPE):
            return 401, {"error": "invalid_token"}, {}
        if accept != NRPS_MEDIA_TYPE:
            return 406, {"error": "not acceptable"}, {}
        start = int(query.get("from", "0"))
        page = self.members[start:start + self.page_size]
        headers = {"Content-Type": NRPS_MEDIA_TYPE}
        if start + self.page_size < len(self.members):
            headers["Link"] = f'<{self.issuer}/memberships?from={start + self.page_size}>; rel="next"'
        return 200, {"id": f"{self.issuer}/memberships", "context": {"id": "course-1", "title": "Deep Learning 2026"},
                     "members": page}, headers


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of a form_post page (what the browser would submit)."""
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page)}
    return action, fields


def _handler(platform: LtiTestPlatform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: str | dict | list, headers: dict[str, str] | None = None) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            headers = {"Content-Type": "text/html" if isinstance(body, str) else "application/json", **(headers or {})}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            if url.path in ("/jwks", "/slow-jwks"):
                if url.path == "/slow-jwks":
                    time.sleep(platform.jwks_stall)
                self.answer(200, {"keys": [k.export_public(as_dict=True) for k in platform.published]})
            elif url.path == "/auth":
                self.answer(*platform.authorize({k: v[0] for k, v in parse_qs(url.query).items()}))
            elif url.path == "/lineitems":
                self.answer(*platform.list_lineitems({k: v[0] for k, v in parse_qs(url.query).items()},
                                                     self.headers.get("Authorization")))
            elif url.path == "/memberships":
                self.answer(*platform.memberships({k: v[0] for k, v in parse_qs(url.query).items()},
                                                  self.headers.get("Authorization"), self.headers.get("Accept")))
            else:
                self.answer(404, "not found")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            path, bearer = urlparse(self.path).path, self.headers.get("Authorization")
            if path == "/lineitems":
                self.answer(*platform.add_lineitem(json.loads(body or "{}"), bearer))
            elif path.startswith("/lineitems/") and path.endswith("/scores"):
                self.answer(*platform.post_score(path, json.loads(body or "{}"), bearer,
                                                 self.headers.get("Content-Type")))
            elif urlparse(self.path).path == "/token":
                self.answer(*platform.token(form))
            elif urlparse(self.path).path == "/deep-link-return":
                self.answer(*platform.deep_link_return(form))
            else:
                self.answer(404, "not found")

    return Handler
