"""The web pages: server-rendered HTML for students and instructors on top of the service's records.

`page_routes.router` (all of them) is included by the app factory (service/app.py). Everything here is in
`service/web/`: signing in and CSRF (signin), language (i18n), rendering and security headers (render), pages for
everyone (public_pages), students (student_pages; their offering pages' addresses: links), the
administrator (instructor_pages) and course staff (staff_pages), what pages show of one report
(report_view, report_pane), of a class (class_view) and of a course (course_view), pictures (plots), the
notebook view (notebook_view), written answers (written). Records come from the store, gradebook rows from
service.grades, access checks from service.access: the pages import no API route.
"""
