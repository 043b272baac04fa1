"""LTI 1.3 launches against a running `grader serve` and a test platform serving over HTTP (tests/lti_platform.py):
registration by the CLI and the API, the tool's keys and config, login -> platform auth -> launch: the first
instructor launch makes the context's course, learners and TAs arrive in it by their roles, a context can be
linked to an existing course; the platform's key rotation; each bad launch refused in the launch's language
with nothing created."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from service.lti import keys, service_token
from service.lti.routes import STATE_COOKIE
from tests.lti_parts import (
    ANN,
    BAD_LAUNCHES,
    BOB,
    TESS,
    User,
    bad_launch,
    launch,
    launch_as,
    post_launch,
    says,
    session_get,
    start_login,
)
from tests.lti_platform import LEARNER, form_of
from tests.service_parts import INSTRUCTOR as INSTRUCTOR_TOKEN


def test_an_instructor_launch_makes_the_course_and_signs_them_in_as_its_instructor(lti_stack) -> None:
    stack, platform = lti_stack
    answer = launch(stack, platform, "bob")
    assert answer.status_code == 200, answer.text
    context = stack.store().lti_context(platform.issuer, "course-1")
    course = stack.store().course(context.course)
    assert course.title == "Deep Learning 2026"
    assert f'url=/lti/courses/{course.id}"' in answer.text
    [bob] = stack.store().staff(course.id)
    assert (bob.name, bob.role) == (BOB.name, "instructor")
    assert BOB.name not in {s.name for s in stack.store().students()}
    assert session_get(stack, answer, f"/lti/courses/{course.id}").status_code == 200   # signed in as its staff
    assert session_get(stack, answer, f"/staff/{course.id}").status_code == 200
    assert session_get(stack, answer, "/instructor").status_code != 200     # course staff, not the administrator
    assert launch(stack, platform, "bob").status_code == 200                 # the next launch: the same records
    assert [c.id for c in stack.store().courses()].count(course.id) == 1 and len(stack.store().staff(course.id)) == 1


def test_a_learner_launch_signs_in_a_roster_entry_of_the_contexts_course(lti_stack) -> None:
    stack, platform = lti_stack
    launch(stack, platform, "bob")
    course = stack.store().lti_context(platform.issuer, "course-1").course
    answer = launch(stack, platform, "ann")
    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh" content="0; url=/courses"' in answer.text     # their courses, this one listed
    assert session_get(stack, answer, "/courses").status_code == 200
    assert session_get(stack, answer, "/instructor").status_code == 404     # a learner is no instructor
    ann = [s for s in stack.store().students() if s.name == ANN.name]
    assert len(ann) == 1 and ann[0].email == ANN.email and stack.store().enrolled(course, ann[0].id)
    assert not stack.store().enrolled("default", ann[0].id)
    launch(stack, platform, "ann")                                        # her next launch: the same entry
    assert [s.id for s in stack.store().students() if s.name == ANN.name] == [ann[0].id]


def test_a_teaching_assistant_is_the_courses_ta_and_cannot_open_an_unknown_course(lti_stack) -> None:
    stack, platform = lti_stack
    refused = launch_as(stack, platform, TESS, __context={"id": "ta-only-course", "title": "Nobody's"})
    assert refused.status_code == 400 and says(refused, "lti_unknown_course")
    assert stack.store().lti_context(platform.issuer, "ta-only-course") is None
    launch(stack, platform, "bob")
    assert launch(stack, platform, "tess").status_code == 200
    course = stack.store().lti_context(platform.issuer, "course-1").course
    assert {m.name: m.role for m in stack.store().staff(course)}[TESS.name] == "ta"


def test_a_learner_launch_for_a_course_the_tool_does_not_know_is_refused_in_japanese(lti_stack) -> None:
    stack, platform = lti_stack
    newcomer = User("new-in-unknown", "Newcomer Unknown", "n@uni.example", [LEARNER])
    answer = launch_as(stack, platform, newcomer, __context={"id": "never-opened", "title": "Unknown"})
    assert answer.status_code == 400 and says(answer, "lti_unknown_course") and says(answer, "lti_refused_help")
    assert '<html lang="ja">' in answer.text
    assert stack.store().lti_context(platform.issuer, "never-opened") is None
    assert newcomer.name not in {s.name for s in stack.store().students()}
    assert not any(c.title == "Unknown" for c in stack.store().courses())


def test_the_administrator_links_a_platforms_course_to_an_existing_one(lti_stack) -> None:
    stack, platform = lti_stack
    with stack.client(INSTRUCTOR_TOKEN) as api:
        assert api.post("/api/courses", json={"id": "dl-existing", "title": "Existing"}).status_code == 201
        link = {"issuer": platform.issuer, "client_id": platform.client_id, "context_id": "linked-ctx",
                "course": "dl-existing"}
        assert api.post("/api/lti/contexts", json={**link, "course": "no-such"}).status_code == 404
        assert api.post("/api/lti/contexts", json=link).status_code == 201
    learner = User("linked-learner", "Linked Learner", "l@uni.example", [LEARNER])
    answer = launch_as(stack, platform, learner, __context={"id": "linked-ctx", "title": "Linked"})
    assert answer.status_code == 200, answer.text
    assert [s.name for s in stack.store().roster("dl-existing")] == [learner.name]
    cli = subprocess.run([sys.executable, "-m", "grader.cli", "lti", "link-course", f"--issuer={platform.issuer}",
                          f"--client-id={platform.client_id}", "--context-id=cli-ctx", "--course=dl-existing"],
                         env=stack.env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and stack.store().lti_context(platform.issuer, "cli-ctx").course == "dl-existing"


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
    time.sleep(stack.settings().lti_jwks_refetch_after)             # an unknown kid refetches after this
    assert launch(stack, platform, "ann").status_code == 200


@pytest.mark.parametrize("case", list(BAD_LAUNCHES))
def test_a_bad_launch_is_refused_with_nothing_created(lti_stack, case: str) -> None:
    stack, platform = lti_stack
    arguments, reason, facts = bad_launch(platform, case)
    newcomer = User(f"new-{case}", f"Newcomer {case}", "new@uni.example", [LEARNER])
    _, query, cookie = start_login(stack, platform, "ann")
    token = platform.mint(newcomer, query["nonce"], **arguments)
    answer = post_launch(stack, {"id_token": token, "state": query["state"]}, cookie)
    assert answer.status_code == 400 and says(answer, reason, **facts), answer.text   # in the launch's ja
    assert newcomer.name not in {s.name for s in stack.store().students()}
    assert stack.store().lti_context(platform.issuer, "not-opened-by-staff") is None
    if "grader_session" in answer.cookies:                              # the refusal page's visitor is anonymous
        assert session_get(stack, answer, "/assignments").status_code == 303
    logs = stack.logs()
    assert "LTI refused" in logs and token not in logs and token.split(".")[1] not in logs


def test_a_replayed_or_unbound_launch_is_refused(lti_stack) -> None:
    stack, platform = lti_stack
    launch(stack, platform, "bob")                                      # the course is open
    location, query, cookie = start_login(stack, platform, "ann")
    _, fields = form_of(httpx.get(location).text)
    assert post_launch(stack, fields, None).status_code == 400          # another browser's launch (no state cookie)
    assert post_launch(stack, fields, cookie).status_code == 400        # its state was used up by that attempt
    _, query, cookie = start_login(stack, platform, "ann")
    good = platform.mint(ANN, query["nonce"])
    assert post_launch(stack, {"id_token": good, "state": query["state"]}, cookie).status_code == 200
    again = post_launch(stack, {"id_token": good, "state": query["state"]}, cookie)
    assert again.status_code == 400 and says(again, "lti_unknown_state")        # in the launch's locale
    _, fresh, cookie = start_login(stack, platform, "ann")             # the old token under a new login's state
    replayed = post_launch(stack, {"id_token": good, "state": fresh["state"]}, cookie)
    assert replayed.status_code == 400 and says(replayed, "lti_wrong_nonce")
    garbage = post_launch(stack, {"id_token": "not.a.jwt", "state": "x"}, "x")
    assert garbage.status_code == 400
    _, query, cookie = start_login(stack, platform, "ann")
    unsigned = good.split(".")[1]                                       # alg "none": the claims, no signature
    none = post_launch(stack, {"id_token": f"eyJhbGciOiJub25lIn0.{unsigned}.", "state": query["state"]}, cookie)
    assert none.status_code == 400 and says(none, "lti_not_rs256")


def test_a_login_for_an_unknown_platform_or_deployment_is_refused(lti_stack) -> None:
    stack, platform = lti_stack
    for params in ({"iss": "https://unknown.example", "login_hint": "a", "target_link_uri": "x"},
                   {"iss": platform.issuer, "login_hint": "a", "target_link_uri": "x", "lti_deployment_id": "nope"},
                   {"iss": platform.issuer}):
        answer = httpx.get(f"{stack.url}/lti/login", params=params)
        assert answer.status_code == 400 and says(answer, "lti_refused_title", "en")


def test_a_silent_platform_jwks_holds_no_other_request(lti_stack) -> None:
    stack, platform = lti_stack
    slow = {**platform.urls(), "client_id": "slow-client", "jwks_url": f"{platform.issuer}/slow-jwks"}
    with stack.client(INSTRUCTOR_TOKEN) as api:
        assert api.post("/api/lti/platforms", json=slow).status_code == 201
    timeout = stack.settings().lti_jwks_timeout
    platform.jwks_stall = timeout + 2
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
    answered = httpx.get(f"{stack.url}/lti/config", timeout=timeout - 1)      # well before the fetch gives up
    assert answered.status_code == 200                                        # answered while the fetch waits
    stalled.join(30)
    assert result["launch"].status_code == 400 and says(result["launch"], "lti_keys_unavailable")
    assert "could not be fetched" in stack.logs()
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
