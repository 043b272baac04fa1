"""What the LTI tests share (a plugin of tests/conftest.py): a running API with a test platform registered
by `grader lti add-platform`, its users, and a launch as a browser and the platform make it."""

from __future__ import annotations

import html
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from grader import catalogue
from service.lti.routes import STATE_COOKIE
from tests.lti_platform import DROP, INSTRUCTOR, LEARNER, TEACHING_ASSISTANT, LtiTestPlatform, User, form_of, new_key
from tests.service_parts import RedisServer, Stack, database, make_assignments_dir, service_env

ANN = User("ann-sub-81", "Ann Arbor", "ann@uni.example", [LEARNER])
BOB = User("bob-sub-82", "Bob Instructor", "bob@uni.example", [INSTRUCTOR])
TESS = User("tess-sub-83", "Tess Assistant", "tess@uni.example", [INSTRUCTOR, TEACHING_ASSISTANT])

# The LTI stacks' intervals, shorter than the service's defaults so that no test waits 10 s for a retry or a
# refetch: the outbox looked at every 0.5 s, a refused score retried after 2 s, the JWKS fetch timing out after
# 3 s and fetched again for an unknown kid after 1 s. Tests that wait on them read them from the stack's settings.
TIMINGS = {"GRADER_LTI_SCORES_EVERY": "0.5", "GRADER_LTI_SCORE_RETRY": "2", "GRADER_LTI_JWKS_TIMEOUT": "3",
           "GRADER_LTI_JWKS_REFETCH_AFTER": "1"}
OTHER_KEY = new_key()
BAD_LAUNCHES = {   # what is wrong -> (the mint's arguments, the catalogue's reason the page gives, its facts)
    "forged signature": ({"key": OTHER_KEY, "kid": "PLATFORM"}, "lti_bad_signature", {}),
    "unknown kid": ({"key": OTHER_KEY}, "lti_unknown_kid", {}),
    "wrong aud": ({"aud": "someone-else"}, "lti_wrong_audience", {}),
    "wrong azp": ({"aud": ["grader-client", "x"], "azp": "x"}, "lti_wrong_azp", {}),
    "wrong iss": ({"iss": "https://evil.example"}, "lti_wrong_issuer", {}),
    "expired": ({"exp": int(time.time()) - 3600}, "lti_expired", {}),
    "future iat": ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "lti_future", {}),
    "old iat": ({"iat": int(time.time()) - 3600}, "lti_too_old", {}),
    "other nonce": ({"nonce": "not-the-login-s"}, "lti_wrong_nonce", {}),
    "unknown deployment": ({"__deployment_id": "not-registered"}, "lti_unknown_deployment", {}),
    "deep linking without its settings": ({"__message_type": "LtiDeepLinkingRequest"}, "lti_no_return_url", {}),
    "a learner's deep linking": ({"__message_type": "LtiDeepLinkingRequest", "__resource_link": DROP,
                                  "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                                      "deep_link_return_url": "https://lms.example/return"}},
                                 "lti_deep_link_staff_only", {}),
    "a submission review": ({"__message_type": "LtiSubmissionReviewRequest"}, "lti_message_type",
                            {"types": "LtiResourceLinkRequest, LtiDeepLinkingRequest"}),
    "no message type": ({"__message_type": DROP}, "lti_missing_claim",
                        {"claim": "https://purl.imsglobal.org/spec/lti/claim/message_type"}),
    "LTI 1.1 version": ({"__version": "1.1"}, "lti_version", {"version": "1.3.0"}),
    "no sub": ({"sub": DROP}, "lti_missing_claim", {"claim": "sub"}),
    "no roles": ({"__roles": DROP}, "lti_no_roles", {}),
    "no resource link": ({"__resource_link": DROP}, "lti_no_resource_link", {}),
    "no context": ({"__context": DROP}, "lti_no_context", {}),
    "unknown role": ({"__roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]}, "lti_unknown_role", {}),
    "unknown course": ({"__context": {"id": "not-opened-by-staff"}}, "lti_unknown_course", {}),
}


def bad_launch(platform: LtiTestPlatform, case: str) -> tuple[dict[str, Any], str, dict[str, str]]:
    """BAD_LAUNCHES[case], its PLATFORM kid made the platform's own (a forgery that names the real key)."""
    arguments, reason, facts = BAD_LAUNCHES[case]
    return {k: platform.key["kid"] if (k, v) == ("kid", "PLATFORM") else v for k, v in arguments.items()}, reason, facts


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def lti_stack(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, LtiTestPlatform]]:
    """`lti_service` per database kind for the whole session (starting one costs 5-15 s; three modules use
    it): each test's behaviour is its own launches, links and users, whatever the others left there."""
    with lti_service(request.param, tmp_path_factory.mktemp(f"lti-{request.param}")) as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def own_lti_stack(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, LtiTestPlatform]]:
    """`lti_service` of the module's own, for tests of what the tool does to the platform's one course
    (the line item it makes, the roster it syncs in the background), which another module's launches change."""
    with lti_service(request.param, tmp_path_factory.mktemp(f"lti-own-{request.param}")) as running:
        yield running


@contextmanager
def lti_service(kind: str, root: Path) -> Iterator[tuple[Stack, LtiTestPlatform]]:
    """The API (no workers: launches grade nothing) and a platform registered with `grader lti add-platform`."""
    redis = RedisServer(root / "redis")
    platform = LtiTestPlatform(users={"ann": ANN, "bob": BOB, "tess": TESS}).start()
    try:
        with database(kind, root) as url:
            stack = Stack(service_env(root / "var", url, redis.url, make_assignments_dir(root), **TIMINGS), root)
            platform.tool_url = stack.url
            added = subprocess.run([sys.executable, "-m", "grader.cli", "lti", "add-platform",
                                    *[f"--{k.replace('_', '-')}={v}" for k, v in platform.urls().items()]],
                                   env=stack.env, capture_output=True, text=True, timeout=120)
            assert added.returncode == 0, added.stderr
            try:
                stack.start_api()
                yield stack, platform
            finally:
                stack.processes.stop(timeout=2)
    finally:
        platform.stop()
        redis.stop()


def start_login(stack: Stack, platform: LtiTestPlatform, hint: str) -> tuple[str, dict[str, str], str]:
    """/lti/login as the platform starts it: (the auth URL we are sent to, its query, the state cookie)."""
    answer = httpx.get(f"{stack.url}/lti/login", params={
        "iss": platform.issuer, "login_hint": hint, "target_link_uri": f"{stack.url}/lti/launch",
        "client_id": platform.client_id, "lti_deployment_id": platform.deployment_id}, timeout=30)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    cookie = answer.cookies[STATE_COOKIE + query["state"]]
    return location, query, cookie


def post_launch(stack: Stack, fields: dict[str, str], cookie: str | None) -> httpx.Response:
    """The browser's form post to /lti/launch (the state cookie kept by hand: it is Secure, over plain HTTP)."""
    headers = {"Cookie": f"{STATE_COOKIE}{fields['state']}={cookie}"} if cookie else {}
    return httpx.post(f"{stack.url}/lti/launch", data=fields, headers=headers, timeout=30)


def launch(stack: Stack, platform: LtiTestPlatform, hint: str) -> httpx.Response:
    """A whole launch: login, the platform's auth endpoint over HTTP, its form posted back."""
    location, _, cookie = start_login(stack, platform, hint)
    page = httpx.get(location, timeout=30)
    assert page.status_code == 200, page.text
    action, fields = form_of(page.text)
    assert action == f"{stack.url}/lti/launch"
    return post_launch(stack, fields, cookie)


def session_get(stack: Stack, answer: httpx.Response, path: str) -> httpx.Response:
    return httpx.get(f"{stack.url}{path}", headers={"Cookie": f"grader_session={answer.cookies['grader_session']}"},
                     timeout=30, follow_redirects=False)




def launch_as(stack: Stack, platform: LtiTestPlatform, user: User, **claims: Any) -> httpx.Response:
    """A launch of `user` with these claims overridden (as `mint` takes them), through a real login."""
    _, query, cookie = start_login(stack, platform, "ann")
    return post_launch(stack, {"id_token": platform.mint(user, query["nonce"], **claims), "state": query["state"]},
                       cookie)


def says(answer: httpx.Response, key: str, lang: str = "ja", **facts: str) -> bool:
    """Whether the page says the catalogue's text of `key` in `lang` (the test platform's launches say ja)."""
    return catalogue.text("pages", key, lang) % facts in html.unescape(answer.text)


def nrps_entry(sub: str, name: str, roles: list[str], status: str = "Active") -> dict:
    """A member of the platform's NRPS membership container."""
    return {"user_id": sub, "name": name, "email": f"{sub}@uni.example", "roles": roles, "status": status}
