"""Deep linking against a running `grader serve` and the test platform: an instructor's LtiDeepLinkingRequest
shows the assignments to pick; the pick comes back to the platform as an LtiDeepLinkingResponse signed by the
tool's published key, carrying the resource link (its custom parameter naming the offering) and its line item;
the platform's first launch of that link lands the learner on the offering, and remembers it."""

from __future__ import annotations

import base64
import html
import json
import re

import httpx

from service.lti.deep_linking import RESPONSE
from service.lti.launch import CLAIM
from tests.lti_parts import ANN, BOB, launch, launch_as, says
from tests.lti_platform import LEARNER, User

CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


def picked(stack, page: httpx.Response, assignment: str, ticket: str | None = None) -> httpx.Response:
    """The picker's form posted with this assignment chosen (as the instructor's browser does)."""
    found = re.search(r'name="ticket" value="([^"]+)"', page.text)
    return httpx.post(f"{stack.url}/lti/deep-link", timeout=30,
                      data={"ticket": ticket or html.unescape(found.group(1)), "assignment": assignment})


def test_an_instructor_deep_links_an_offering_and_a_learner_lands_on_it(lti_stack) -> None:
    stack, platform = lti_stack
    page = launch_as(stack, platform, BOB, **platform.deep_linking_claims())
    assert page.status_code == 200 and says(page, "lti_pick_title"), page.text
    assert 'value="tiny"' in page.text and 'value="backprop"' in page.text
    answer = picked(stack, page, "tiny")
    assert answer.status_code == 200, answer.text
    return_url = f"{platform.issuer}/deep-link-return"
    assert f'action="{return_url}"' in answer.text
    assert f"form-action {platform.issuer}" in answer.headers["content-security-policy"]
    token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', answer.text).group(1))
    assert httpx.post(return_url, data={"JWT": token}).status_code == 200      # the browser's form post
    [response] = platform.deep_links[-1:]
    assert response[CLAIM + "message_type"] == RESPONSE and response[CLAIM + "deployment_id"] == "deployment-1"
    assert response["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "platform-opaque-data"
    [item] = response[CONTENT_ITEMS]
    assert item["type"] == "ltiResourceLink" and item["url"] == f"{stack.url}/lti/launch"
    assert item["custom"] == {"offering": "tiny"} and item["lineItem"]["resourceId"] == "tiny"
    course = stack.store().lti_context(platform.issuer, "course-1").course
    assert stack.store().offering(course, "tiny") is not None                  # offered, from now on
    link = {"id": "link-tiny", "title": "Tiny"}
    learner = launch_as(stack, platform, ANN, __resource_link=link, __custom=item["custom"])
    assert learner.status_code == 200 and f'url=/courses/{course}/assignments/tiny"' in learner.text   # its page
    assert stack.store().resource_link(platform.issuer, "link-tiny").assignment == "tiny"
    again = launch_as(stack, platform, BOB, __resource_link=link)              # remembered without custom
    assert f'url=/staff/{course}/offerings/tiny"' in again.text


def test_a_forged_expired_or_learners_pick_is_refused(lti_stack) -> None:
    stack, platform = lti_stack
    launch(stack, platform, "bob")
    page = launch_as(stack, platform, BOB, **platform.deep_linking_claims())
    ticket = html.unescape(re.search(r'name="ticket" value="([^"]+)"', page.text).group(1))
    forged = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")
    assert says(picked(stack, page, "tiny", forged), "lti_pick_expired", "en")
    assert says(picked(stack, page, "no-such-assignment"), "lti_unknown_assignment", "en")
    learner = User("dl-learner", "DL Learner", "d@uni.example", [LEARNER])
    refused = launch_as(stack, platform, learner, **platform.deep_linking_claims())
    assert refused.status_code == 400 and says(refused, "lti_deep_link_staff_only")


def test_the_deep_link_response_verifies_only_with_the_tools_published_key(lti_stack) -> None:
    stack, platform = lti_stack
    page = launch_as(stack, platform, BOB, **platform.deep_linking_claims())
    token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', picked(stack, page, "backprop").text).group(1))
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    published = {k["kid"] for k in httpx.get(f"{stack.url}/lti/jwks").json()["keys"]}
    assert header["alg"] == "RS256" and header["kid"] in published
    tampered = token.rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1][::-1]
    assert httpx.post(f"{platform.issuer}/deep-link-return", data={"JWT": tampered}).status_code == 400
