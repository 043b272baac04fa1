"""The REST API (JSON under /api, plus /healthz and /metrics): thin routes over the store, lifecycle and the
service functions (access, uploads, grades, status) the pages share."""

from service.api import courses, instructor, ops, submissions

routers = (submissions.router, instructor.router, courses.router, ops.router)
