"""Every page's route in one router, for the app factory: kept out of the package's __init__ so that a
worker importing what pages show (service.web.prepared) does not import the web framework."""

from fastapi import APIRouter

from service.web import instructor_pages, public_pages, staff_pages, student_pages

router = APIRouter()
for _part in (public_pages.router, student_pages.router, instructor_pages.router, staff_pages.router):
    router.include_router(_part)
