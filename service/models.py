"""The records the service keeps: courses (their roster, staff, offerings of assignments with dates, extensions,
audit log), assignments, students, submissions (with their bytes), results, manual grades, upload attempts,
workers; and the statuses a submission moves through (the moves are in service/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.clocks import UTCDateTime

RECEIVED, QUEUED, RUNNING, DONE, FAILED = "received", "queued", "running", "done", "failed"
STATUSES = (RECEIVED, QUEUED, RUNNING, DONE, FAILED)
IN_PROGRESS = (RECEIVED, QUEUED, RUNNING)
FINISHED = (DONE, FAILED)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class Assignment(Base):
    """An assignment registered from `assignments/<name>/assignment.toml`."""

    __tablename__ = "assignments"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    max_score: Mapped[float] = mapped_column(Float)
    units: Mapped[list] = mapped_column(JSON)                     # unit names in the spec's order
    policy: Mapped[str] = mapped_column(String(10), default="latest")  # which submission counts: latest|best
    version: Mapped[str | None] = mapped_column(String(64))          # digest of assignment.toml and the reference


class Student(Base):
    """A student on the roster; only the hash of their token is kept."""

    __tablename__ = "students"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Credential(Base):
    """Other tokens the service accepts (today: the instructor's), by hash."""

    __tablename__ = "credentials"
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))


DEFAULT_COURSE = "default"   # the course today's routes (no course in the path) answer for
INSTRUCTOR_ROLE, TA_ROLE = "instructor", "ta"


class Course(Base):
    """A course in a term: its roster, staff and offerings; its dates are entered and shown in its time zone."""

    __tablename__ = "courses"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)   # a slug
    title: Mapped[str] = mapped_column(Text)
    term: Mapped[str] = mapped_column(Text, default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    created_at: Mapped[datetime]


class Enrollment(Base):
    """A student on a course's roster."""

    __tablename__ = "enrollments"
    __table_args__ = (PrimaryKeyConstraint("course", "student", name="one_enrollment_per_course"),)
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    student: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)


class StaffMember(Base):
    """A course's instructor or teaching assistant, with their own token (its hash only)."""

    __tablename__ = "staff"
    __table_args__ = (PrimaryKeyConstraint("course", "id", name="one_staff_id_per_course"),)
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))                    # INSTRUCTOR_ROLE | TA_ROLE
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Offering(Base):
    """An assignment offered in a course, with its dates (UTC; None: no such limit) and its late-work policy
    (service/lateness.py decides what they mean)."""

    __tablename__ = "offerings"
    __table_args__ = (PrimaryKeyConstraint("course", "assignment", name="one_offering_per_course"),)
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    assignment: Mapped[str] = mapped_column(ForeignKey("assignments.name"))
    opens: Mapped[datetime | None]
    due: Mapped[datetime | None]
    late_until: Mapped[datetime | None]                              # the close; None: the due time
    late_penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)   # fraction of the max per started day
    counts: Mapped[str] = mapped_column(String(10), default="latest")          # latest|best
    visible_before_opens: Mapped[bool] = mapped_column(Boolean, default=False)


class Extension(Base):
    """One student's own dates on an offering."""

    __tablename__ = "extensions"
    __table_args__ = (PrimaryKeyConstraint("course", "assignment", "student", name="one_extension_per_student"),)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(ForeignKey("students.id"))
    due: Mapped[datetime | None]
    late_until: Mapped[datetime | None]


class AuditEntry(Base):
    """One state change staff made, appended and never edited: who, when, what, before -> after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))                  # admin | instructor:<id> | ta:<id>
    action: Mapped[str] = mapped_column(String(40))                  # manual_grade, regrade, dates, ...
    subject: Mapped[str] = mapped_column(Text, default="")           # what it changed (a submission, a student)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class Submission(Base):
    """One uploaded notebook and where it is in its life (see service/lifecycle.py)."""

    __tablename__ = "submissions"
    __table_args__ = (Index("submissions_per_student", "assignment", "student", "received_at", "id"),
                      Index("submissions_in_queue", "status", "queued_at"),
                      Index("submissions_per_course", "course", "assignment"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"), default=DEFAULT_COURSE)
    assignment: Mapped[str] = mapped_column(ForeignKey("assignments.name"), index=True)
    student: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    late_days: Mapped[int] = mapped_column(Integer, default=0)    # at receipt, against the student's own due
    filename: Mapped[str] = mapped_column(Text)
    notebook: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)   # read only where it is graded or shown
    sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)  # received|queued|running|done|failed
    received_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_token: Mapped[str | None] = mapped_column(String(32))  # the one attempt allowed to record
    worker: Mapped[str | None] = mapped_column(Text)               # host:pid of the last attempt
    worker_id: Mapped[str | None] = mapped_column(String(32))      # the id its worker registered (workers.name)
    error: Mapped[str | None] = mapped_column(Text)                # why it failed (not the student's fault)


class Result(Base):
    """The one result of a submission: the CLI's JSON report, and the summary every list reads instead of it
    (service/summaries.py: its scores, each unit's maximum, what failed, the grading error), taken at record time."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("submission_id", name="one_result_per_submission"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    unit_scores: Mapped[dict] = mapped_column(JSON)
    unit_max_scores: Mapped[dict] = mapped_column(JSON)
    failing: Mapped[list] = mapped_column(JSON)                    # failed checks (unit.check) and diagnoses
    error: Mapped[str | None] = mapped_column(Text)                # the report's grading error
    report: Mapped[dict] = mapped_column(JSON, deferred=True)      # exactly `grader grade --format json`'s object
    grading_seconds: Mapped[float] = mapped_column(Float)
    grader_version: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime]


class ManualGrade(Base):
    """A course's staff's score and comment for a student's written parts on an assignment. It belongs to the
    course, the student and the assignment, not to one submission: a resubmission or a regrade cannot shed it;
    the submission it was given on is kept, so a page can say when it was given on another attempt."""

    __tablename__ = "manual_grades"
    __table_args__ = (PrimaryKeyConstraint("course", "assignment", "student", name="manual_grades_per_course"),)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(ForeignKey("assignments.name"))
    student: Mapped[str] = mapped_column(ForeignKey("students.id"))
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"))   # the attempt it was given on
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[datetime]


class UploadAttempt(Base):
    """One upload a student started (stored or refused alike): what the per-student rate limit counts."""

    __tablename__ = "upload_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    at: Mapped[datetime]


class Worker(Base):
    """A worker process's heartbeat, by the unique id it made at start: live workers drive /healthz, /metrics and
    the wait estimate; an attempt whose worker stopped beating is taken over by any machine."""

    __tablename__ = "workers"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)   # the worker's id
    concurrency: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]                                          # the database's clock
    host: Mapped[str] = mapped_column(Text, default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    machine: Mapped[str] = mapped_column(String(80), default="")  # kernel boot and PID namespace: whose PIDs
    serves: Mapped[list | None] = mapped_column(JSON)      # assignments it has in their registered version
    state: Mapped[str] = mapped_column(Text, default="ready")  # "ready", or why it takes no (or not all) tasks


class SharedSetting(Base):
    """What must be equal on every machine (the training key, the session secret, limits, attempts), written by the
    API side at start (service/shared.py) and read by every worker: no machine keeps its own."""

    __tablename__ = "shared_settings"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Rendering(Base):
    """What a page shows of a submission that is costly to make (its notebook view, a report's picture in one
    language), made once outside any request and read by every view; `made_from` is the digest of what it
    was made from (a report), so a regrade's new report is never shown an old picture."""

    __tablename__ = "renderings"
    submission_id: Mapped[str] = mapped_column(String(32), ForeignKey("submissions.id", ondelete="CASCADE"),
                                               primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)   # "notebook", "plot:training:ja"
    made_from: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)                            # JSON
    made_at: Mapped[datetime]


class SessionGeneration(Base):
    """A principal's browser-session generation: a session cookie signed under an older one is refused, so
    signing out and rotating the instructor token end every copy of the cookie at once."""

    __tablename__ = "session_generations"
    principal: Mapped[str] = mapped_column(String(120), primary_key=True)   # Principal.key
    generation: Mapped[int] = mapped_column(Integer, default=0)


class SignInFailure(Base):
    """A token that matched nobody, by the client address it came from: what the guessing throttle counts."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(index=True)


class LtiPlatform(Base):
    """An LMS registered as an LTI 1.3 platform (service/lti): where its users sign in and where its keys are.
    One issuer may register the tool more than once (one client id each)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="one_registration_per_client"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_url: Mapped[str] = mapped_column(Text)       # its OIDC authorization endpoint
    token_url: Mapped[str] = mapped_column(Text)      # its OAuth2 token endpoint (AGS, NRPS)
    jwks_url: Mapped[str] = mapped_column(Text)       # its public keys
    added_at: Mapped[datetime]


class LtiDeployment(Base):
    """A deployment of the tool on a platform: a launch naming any other is refused."""

    __tablename__ = "lti_deployments"
    __table_args__ = (PrimaryKeyConstraint("platform_id", "deployment_id", name="lti_deployments_per_platform"),)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))


class LtiLogin(Base):
    """An OIDC login the tool started: its state and nonce, used once by the launch that answers it (or never)."""

    __tablename__ = "lti_logins"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(index=True)


class LtiUser(Base):
    """Who a platform's user (`sub` at an issuer) is here: today a roster entry made at their first launch."""

    __tablename__ = "lti_users"
    __table_args__ = (PrimaryKeyConstraint("issuer", "subject", name="lti_users_per_issuer"),)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    student: Mapped[str] = mapped_column(ForeignKey("students.id"))


class LtiContext(Base):
    """A platform's course (an LTI context) and the course it is here: made at its first instructor launch, or
    linked to an existing course by the administrator; with its Advantage service URLs as the last launch
    named them (NRPS memberships, AGS line items)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (PrimaryKeyConstraint("issuer", "context_id", name="lti_contexts_per_issuer"),)
    issuer: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    memberships_url: Mapped[str | None] = mapped_column(Text)
    lineitems_url: Mapped[str | None] = mapped_column(Text)
    scores_sent_at: Mapped[datetime | None]                      # the platform last took a score


class LtiResourceLink(Base):
    """A platform's link to the tool (a resource link) and the offering it opens."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (PrimaryKeyConstraint("issuer", "link_id", name="lti_resource_links_per_issuer"),)
    issuer: Mapped[str] = mapped_column(String(255))
    link_id: Mapped[str] = mapped_column(String(255))
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    lineitem_url: Mapped[str | None] = mapped_column(Text)       # its AGS line item, once found or created


class LtiMembership(Base):
    """A platform's student in a course as its roster service (NRPS) last listed them: `left_at` set when they
    were no longer listed as active; the student and their work are never deleted."""

    __tablename__ = "lti_memberships"
    __table_args__ = (PrimaryKeyConstraint("course", "student", name="lti_memberships_per_course"),)
    course: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    student: Mapped[str] = mapped_column(ForeignKey("students.id"))
    synced_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class LtiScoreChange(Base):
    """A student's counted score on an LTI-linked offering changed (a result, a manual grade, an offering's
    penalty or an extension): appended in the change's own transaction, removed once the platform took the
    score (service/lti/score_sender.py), retried with backoff until then. `student` "" is every student."""

    __tablename__ = "lti_score_changes"
    __table_args__ = (Index("lti_score_changes_due", "next_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = mapped_column(String(100), index=True)
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime]
    next_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class LtiScoreLease(Base):
    """Which API process sends an offering's scores, until when (the database's clock): taken in one conditional
    UPDATE, so of several API machines only one finds or makes the line item and posts a given change."""

    __tablename__ = "lti_score_leases"
    __table_args__ = (PrimaryKeyConstraint("course", "assignment", name="lti_score_leases_per_offering"),)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    holder: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime]
