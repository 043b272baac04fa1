"""LTI 1.3 launches against a running `grader serve` and a test platform serving over HTTP (tests/lti_platform.py):
registration by the CLI and the API, the tool's keys and config, login -> platform auth -> launch signing a
learner and an instructor in, the platform's key rotation, and each bad launch refused with nothing created."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from service.lti import keys, platform_keys, service_token
from service.lti.routes import STATE_COOKIE
from tests.lti_platform import DROP, INSTRUCTOR, LEARNER, LtiTestPlatform, User, form_of, new_key
from tests.service_parts import INSTRUCTOR as INSTRUCTOR_TOKEN
from tests.service_parts import RedisServer, Stack, database, make_assignments_dir, service_env

ANN = User("ann-sub-81", "Ann Arbor", "ann@uni.example", [LEARNER])
BOB = User("bob-sub-82", "Bob Instructor", "bob@uni.example", [INSTRUCTOR])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lti_stack(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, LtiTestPlatform]]:
    """The API (no workers: launches grade nothing) and a platform registered with `grader lti add-platform`."""
    root = tmp_path_factory.mktemp(f"lti-{request.param}")
    redis = RedisServer(root / "redis")
    platform = LtiTestPlatform(users={"ann": ANN, "bob": BOB}).start()
    try:
        with database(request.param, root) as url:
            stack = Stack(service_env(root / "var", url, redis.url, make_assignments_dir(root)), root)
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


def test_a_learner_launch_signs_in_a_roster_entry_named_by_the_platform(lti_stack) -> None:
    stack, platform = lti_stack
    answer = launch(stack, platform, "ann")
    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh" content="0; url=/assignments"' in answer.text
    assert session_get(stack, answer, "/assignments").status_code == 200
    assert session_get(stack, answer, "/instructor").status_code == 404     # a learner is no instructor
    ann = [s for s in stack.store().students() if s.name == ANN.name]
    assert len(ann) == 1 and ann[0].email == ANN.email and stack.store().enrolled("default", ann[0].id)
    launch(stack, platform, "ann")                                        # her next launch: the same entry
    assert [s.id for s in stack.store().students() if s.name == ANN.name] == [ann[0].id]


def test_an_instructor_launch_opens_the_instructor_pages(lti_stack) -> None:
    stack, platform = lti_stack
    answer = launch(stack, platform, "bob")
    assert answer.status_code == 200, answer.text
    assert session_get(stack, answer, "/instructor").status_code == 200
    assert BOB.name not in {s.name for s in stack.store().students()}


def test_the_tool_publishes_its_endpoints_and_public_keys_only(lti_stack) -> None:
    stack, _ = lti_stack
    config = httpx.get(f"{stack.url}/lti/config").json()
    assert config["oidc_initiation_url"] == f"{stack.url}/lti/login"
    assert config["redirect_uris"] == [f"{stack.url}/lti/launch"]
    assert config["jwks_url"] == f"{stack.url}/lti/jwks"
    published = httpx.get(config["jwks_url"]).json()["keys"]
    assert published and all(k["kty"] == "RSA" and "d" not in k and "p" not in k for k in published)
    assert [k["kid"] for k in published] == [keys.current(stack.store())["kid"]]   # the shared configuration's


def test_the_instructor_registers_a_second_platform_through_the_api(lti_stack) -> None:
    stack, platform = lti_stack
    other = {**platform.urls(), "client_id": "second-client", "deployment_id": "dep-a"}
    with stack.client(INSTRUCTOR_TOKEN) as api:
        assert api.post("/api/lti/platforms", json=other).status_code == 201
        assert api.post("/api/lti/platforms", json={**other, "deployment_id": "dep-b"}).status_code == 201
        assert api.post("/api/lti/platforms", json={**other, "jwks_url": "file:///etc/passwd"}).status_code == 422
        listed = {p["client_id"]: p for p in api.get("/api/lti/platforms").json()["platforms"]}
    assert listed["second-client"]["deployments"] == ["dep-a", "dep-b"]
    assert listed[platform.client_id]["deployments"] == [platform.deployment_id]
    with stack.client("a-wrong-token-of-24-characters") as stranger:
        assert stranger.get("/api/lti/platforms").status_code == 401
    cli = subprocess.run([sys.executable, "-m", "grader.cli", "lti", "list"], env=stack.env, capture_output=True,
                         text=True, timeout=120)
    assert "second-client" in cli.stdout and "dep-a, dep-b" in cli.stdout


def test_a_platform_key_rotation_is_picked_up(lti_stack) -> None:
    stack, platform = lti_stack
    assert launch(stack, platform, "ann").status_code == 200       # the old key is cached
    platform.rotate()
    time.sleep(platform_keys.REFETCH_AFTER)                         # an unknown kid refetches after this
    assert launch(stack, platform, "ann").status_code == 200


OTHER_KEY = new_key()
BAD_LAUNCHES = {   # what is wrong -> (the mint's arguments, what the page says)
    "forged signature": ({"key": OTHER_KEY, "kid": "PLATFORM"}, "signature does not verify"),
    "unknown kid": ({"key": OTHER_KEY}, "key (kid) is not one the platform publishes"),
    "wrong aud": ({"aud": "someone-else"}, "not for this tool (aud)"),
    "wrong azp": ({"aud": ["grader-client", "x"], "azp": "x"}, "authorized party (azp)"),
    "wrong iss": ({"iss": "https://evil.example"}, "issuer is not the platform"),
    "expired": ({"exp": int(time.time()) - 3600}, "has expired"),
    "future iat": ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "issued in the future"),
    "old iat": ({"iat": int(time.time()) - 3600}, "issued too long ago"),
    "other nonce": ({"nonce": "not-the-login-s"}, "nonce is not the one of this login"),
    "unknown deployment": ({"__deployment_id": "not-registered"}, "deployment that is not registered"),
    "deep linking": ({"__message_type": "LtiDeepLinkingRequest"}, "message type is not one"),
    "no message type": ({"__message_type": DROP}, "lacks the claim https://purl.imsglobal.org/spec/lti/claim/message"),
    "LTI 1.1 version": ({"__version": "1.1"}, "version is not 1.3.0"),
    "no sub": ({"sub": DROP}, "lacks the claim sub"),
    "no roles": ({"__roles": DROP}, "lacks the roles claim"),
    "no resource link": ({"__resource_link": DROP}, "lacks the resource link"),
    "unknown role": ({"__roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]}, "neither a learner"),
}


@pytest.mark.parametrize("case", list(BAD_LAUNCHES))
def test_a_bad_launch_is_refused_with_nothing_created(lti_stack, case: str) -> None:
    stack, platform = lti_stack
    arguments, reason = BAD_LAUNCHES[case]
    arguments = dict(arguments)
    if arguments.get("kid") == "PLATFORM":
        arguments["kid"] = platform.key["kid"]
    newcomer = User(f"new-{case}", f"Newcomer {case}", "new@uni.example", [LEARNER])
    _, query, cookie = start_login(stack, platform, "ann")
    token = platform.mint(newcomer, query["nonce"], **arguments)
    answer = post_launch(stack, {"id_token": token, "state": query["state"]}, cookie)
    assert answer.status_code == 400 and reason in answer.text, answer.text
    assert newcomer.name not in {s.name for s in stack.store().students()}
    if "grader_session" in answer.cookies:                              # the refusal page's visitor is anonymous
        assert session_get(stack, answer, "/assignments").status_code == 303
    logs = stack.logs()
    assert "LTI refused" in logs and token not in logs and token.split(".")[1] not in logs


def test_a_replayed_or_unbound_launch_is_refused(lti_stack) -> None:
    stack, platform = lti_stack
    location, query, cookie = start_login(stack, platform, "ann")
    _, fields = form_of(httpx.get(location).text)
    assert post_launch(stack, fields, None).status_code == 400          # another browser's launch (no state cookie)
    assert post_launch(stack, fields, cookie).status_code == 400        # its state was used up by that attempt
    _, query, cookie = start_login(stack, platform, "ann")
    good = platform.mint(ANN, query["nonce"])
    assert post_launch(stack, {"id_token": good, "state": query["state"]}, cookie).status_code == 200
    again = post_launch(stack, {"id_token": good, "state": query["state"]}, cookie)
    assert again.status_code == 400 and "state is unknown, used or expired" in again.text
    _, fresh, cookie = start_login(stack, platform, "ann")             # the old token under a new login's state
    replayed = post_launch(stack, {"id_token": good, "state": fresh["state"]}, cookie)
    assert replayed.status_code == 400 and "nonce" in replayed.text
    garbage = post_launch(stack, {"id_token": "not.a.jwt", "state": "x"}, "x")
    assert garbage.status_code == 400
    _, query, cookie = start_login(stack, platform, "ann")
    unsigned = good.split(".")[1]                                       # alg "none": the claims, no signature
    none = post_launch(stack, {"id_token": f"eyJhbGciOiJub25lIn0.{unsigned}.", "state": query["state"]}, cookie)
    assert none.status_code == 400 and "RS256" in none.text


def test_a_login_for_an_unknown_platform_or_deployment_is_refused(lti_stack) -> None:
    stack, platform = lti_stack
    for params in ({"iss": "https://unknown.example", "login_hint": "a", "target_link_uri": "x"},
                   {"iss": platform.issuer, "login_hint": "a", "target_link_uri": "x", "lti_deployment_id": "nope"},
                   {"iss": platform.issuer}):
        answer = httpx.get(f"{stack.url}/lti/login", params=params)
        assert answer.status_code == 400 and "LTI" in answer.text


def test_a_silent_platform_jwks_holds_no_other_request(lti_stack) -> None:
    stack, platform = lti_stack
    slow = {**platform.urls(), "client_id": "slow-client", "jwks_url": f"{platform.issuer}/slow-jwks"}
    with stack.client(INSTRUCTOR_TOKEN) as api:
        assert api.post("/api/lti/platforms", json=slow).status_code == 201
    platform.jwks_stall = platform_keys.TIMEOUT.read + 2
    answer = httpx.get(f"{stack.url}/lti/login", params={"iss": platform.issuer, "login_hint": "ann",
                                                         "target_link_uri": "x", "client_id": "slow-client"})
    query = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}
    fields = {"id_token": platform.mint(ANN, query["nonce"], aud="slow-client"), "state": query["state"]}
    result: dict[str, httpx.Response] = {}
    stalled = threading.Thread(target=lambda: result.update(
        launch=post_launch(stack, fields, answer.cookies[STATE_COOKIE + query["state"]])))
    stalled.start()
    time.sleep(0.5)
    assert stalled.is_alive()
    assert httpx.get(f"{stack.url}/lti/config", timeout=2).status_code == 200   # answered while the fetch waits
    stalled.join(30)
    assert result["launch"].status_code == 400 and "could not be fetched" in result["launch"].text
    platform.jwks_stall = 0


def test_the_tool_gets_a_service_token_with_an_assertion_signed_by_its_published_key(lti_stack) -> None:
    stack, platform = lti_stack
    [registered] = [p for p in stack.store().platforms(platform.issuer) if p.client_id == platform.client_id]
    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    assert asyncio.run(service_token.access_token(registered, stack.store(), [scope]))
    rotated = subprocess.run([sys.executable, "-m", "grader.cli", "lti", "rotate-key"], env=stack.env,
                             capture_output=True, text=True, timeout=120)
    assert rotated.returncode == 0, rotated.stderr
    assert asyncio.run(service_token.access_token(registered, stack.store(), [scope]))   # the new key is published
    assert [a["iss"] for a in platform.tokens_issued[-2:]] == [platform.client_id] * 2
    stranger = dataclasses.replace(registered, client_id="not-this-client")
    with pytest.raises(service_token.TokenRefused, match="401"):
        asyncio.run(service_token.access_token(stranger, stack.store(), [scope]))
