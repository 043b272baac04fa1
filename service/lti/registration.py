"""The administrator's LTI registrations, by the API (/api/lti) as by `grader lti`: platforms and their
deployments, and a platform's context linked to an existing course (before its first launch, or instead of
the course that launch would make)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, field_validator

from service import edges
from service.auth import Instructor
from service.services import ServicesDep
from service.store import Context, CourseError, Platform, Store

api = APIRouter(prefix="/api/lti", tags=["lti"])


class PlatformForm(BaseModel):
    issuer: str
    client_id: str
    deployment_id: str
    auth_url: str
    token_url: str
    jwks_url: str

    @field_validator("issuer", "auth_url", "token_url", "jwks_url")
    @classmethod
    def web_address(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value) > 255:
            raise ValueError("an http(s) URL of at most 255 characters")
        return value

    @field_validator("client_id", "deployment_id")
    @classmethod
    def identifier(cls, value: str) -> str:
        if not value.strip() or len(value) > 255:
            raise ValueError("1 to 255 characters")
        return value.strip()


def described(platform: Platform) -> dict:
    return {"issuer": platform.issuer, "client_id": platform.client_id, "deployments": list(platform.deployments),
            "auth_url": platform.auth_url, "token_url": platform.token_url, "jwks_url": platform.jwks_url}


@api.get("/platforms")
def list_platforms(services: ServicesDep, _: Instructor) -> dict:
    return {"platforms": [described(p) for p in services.store.platforms()]}


@api.post("/platforms", status_code=201, openapi_extra=edges.openapi_body(PlatformForm))
def add_platform(services: ServicesDep, _: Instructor,
                 form: Annotated[PlatformForm, Depends(edges.json_body(PlatformForm))]) -> JSONResponse:
    """Register a platform (or add a deployment to one registered): the same as `grader lti add-platform`."""
    return JSONResponse(described(services.store.add_platform(**form.model_dump())), status_code=201)


class ContextLink(BaseModel):
    issuer: str
    client_id: str
    context_id: str
    course: str


def described_context(context: Context) -> dict:
    return {"issuer": context.issuer, "context_id": context.context_id, "course": context.course}


def link_context(store: Store, link: ContextLink) -> Context:
    """The context linked to the course; LookupError for an unregistered platform, CourseError for no course."""
    platform = next((p for p in store.platforms(link.issuer) if p.client_id == link.client_id), None)
    if platform is None:
        raise LookupError(f"no platform {link.issuer!r} with client id {link.client_id!r} is registered")
    return store.link_context(link.issuer, link.context_id, platform.id, link.course)


@api.post("/contexts", status_code=201, openapi_extra=edges.openapi_body(ContextLink))
def add_context_link(services: ServicesDep, _: Instructor,
                     link: Annotated[ContextLink, Depends(edges.json_body(ContextLink))]) -> JSONResponse:
    """Link a platform's context (its course) to an existing course: the same as `grader lti link-course`."""
    try:
        return JSONResponse(described_context(link_context(services.store, link)), status_code=201)
    except (LookupError, CourseError) as exc:
        raise HTTPException(404, str(exc)) from None
