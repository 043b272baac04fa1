"""Roster sync from the platform's NRPS membership service against a running `grader serve`: an instructor's
launch brings in the listed students (three more than have launched) in the background, page by page; a sync
later marks the one no longer listed as having left, keeping them and their work; the course page says so."""

from __future__ import annotations

import asyncio

import httpx

from service.lti import roster_sync
from service.store import Member
from tests.lti_parts import ANN, BOB, launch
from tests.lti_parts import nrps_entry as entry
from tests.lti_platform import INSTRUCTOR, LEARNER
from tests.service_parts import wait_until


def test_nrps_brings_in_three_more_students_and_marks_the_one_who_left(own_lti_stack) -> None:
    stack, platform = own_lti_stack
    platform.members = [entry(BOB.sub, BOB.name, [INSTRUCTOR]), entry(ANN.sub, ANN.name, [LEARNER]),
                        *(entry(f"nrps-{n}", f"Listed {n}", [LEARNER]) for n in ("carl", "dana", "emil")),
                        entry("nrps-gone", "Gone Before", [LEARNER], "Inactive")]
    assert launch(stack, platform, "bob").status_code == 200                # the launch does not wait for it
    course = stack.store().lti_context(platform.issuer, "course-1").course
    listed = {ANN.name, "Listed carl", "Listed dana", "Listed emil"}
    wait_until(lambda: listed <= {s.name for s in stack.store().roster(course)}, 30, "the roster synced")
    assert "Gone Before" not in {s.name for s in stack.store().roster(course)}   # never active: never enrolled
    platform.members = [m for m in platform.members if m["user_id"] != "nrps-dana"]
    context = stack.store().lti_context(platform.issuer, "course-1")
    synced = asyncio.run(roster_sync.sync(stack.store(), context))           # what staff's "sync now" runs
    assert synced.left == 1 and synced.joined == 0
    dana = next(s for s in stack.store().roster(course) if s.name == "Listed dana")   # kept on the roster
    assert stack.store().lti_departed(course) == {dana.id}
    platform.members.append(entry("nrps-dana", "Listed dana", [LEARNER]))
    assert asyncio.run(roster_sync.sync(stack.store(), context)).joined == 1     # back when listed again
    assert stack.store().lti_departed(course) == set()
    assert any(name.startswith("Bob") for name in {m.name for m in stack.store().staff(course)})


def test_the_course_page_is_its_staffs_only(own_lti_stack) -> None:
    stack, platform = own_lti_stack
    launch(stack, platform, "bob")
    course = stack.store().lti_context(platform.issuer, "course-1").course
    anonymous = httpx.get(f"{stack.url}/lti/courses/{course}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/signin"
    learner = launch(stack, platform, "ann")
    page = httpx.get(f"{stack.url}/lti/courses/{course}", follow_redirects=False,
                     headers={"Cookie": f"grader_session={learner.cookies['grader_session']}"})
    assert page.status_code == 404


def test_a_membership_container_is_read_as_members_by_their_roles() -> None:
    container = {"members": [entry("a", "A", [LEARNER]), entry("b", "B", [INSTRUCTOR], "Inactive"),
                             entry("c", "C", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]),
                             {"name": "no id"}, "not an entry"]}
    assert roster_sync.members_of(container) == [Member("a", "A", "a@uni.example", None, True),
                                                 Member("b", "B", "b@uni.example", "instructor", False)]
