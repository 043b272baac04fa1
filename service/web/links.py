"""Where a student's page of an offering is: `/courses/<course>/assignments/<assignment>`, and for course
`default` the address it had before courses, `/assignments/<assignment>` (the same page)."""

from __future__ import annotations

from service.models import DEFAULT_COURSE


def offering_page(course: str, assignment: str) -> str:
    """The student's page of the course's offering: its dates, the upload form and their attempts."""
    if course == DEFAULT_COURSE:
        return f"/assignments/{assignment}"
    return f"/courses/{course}/assignments/{assignment}"
