"""The REST API (JSON under /api, plus /healthz and /metrics): thin routes over store and lifecycle."""

from service.api import course, ops, submissions

routers = (submissions.router, course.router, ops.router)
