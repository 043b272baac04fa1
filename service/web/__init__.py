"""The web pages: server-rendered HTML for students and instructors on top of the service's records.

`router` is included by the app factory (service/app.py). Everything here is in `service/web/`:
sessions and CSRF (session), language (i18n), rendering and security headers (render), pages for
everyone (pages), students (student) and instructors (instructor), pictures (plots), the notebook
view (notebook_view), written parts (written), what pages show of reports (views), records (records).
"""

from fastapi import APIRouter

from service.web import instructor, pages, student

router = APIRouter()
for _part in (pages.router, student.router, instructor.router):
    router.include_router(_part)
