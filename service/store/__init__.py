"""The records' one data layer: every query and transaction of the service, each method one short transaction.

By domain: courses (courses, staff, offerings and their dates, extensions, the audit log), people (roster,
credentials), gradebook (assignments, results, standings, manual grades),
submission_states (the stored notebooks and each status change as one conditional UPDATE), monitoring
(worker heartbeats, what the queue looks like), artifacts (the renderings made once per submission),
configuration (what every machine shares, the database's clock), sign_ins (session generations, failed
token attempts), lti (LTI platforms, logins in flight), lti_courses (platforms' contexts, users and links),
lti_rosters (rosters as the platforms list them), lti_scores (scores waiting for the platforms).
Which status change happens when is decided in service/lifecycle.py; here each one is written atomically.
"""

from __future__ import annotations

from sqlalchemy import Engine

from service.db import sessions
from service.store.artifacts import RenderingRecords
from service.store.configuration import SharedConfiguration
from service.store.course_records import CourseError, CourseRecords, NewStaff
from service.store.gradebook import Attempt, Counted, GivenManualGrade, GradebookRecords, Standing
from service.store.lti import LtiRecords, Platform
from service.store.lti_courses import Context, LtiCourseRecords
from service.store.lti_rosters import LtiRosterRecords, Member, Synced
from service.store.lti_scores import LtiScoreRecords, watch_score_changes
from service.store.monitoring import HEARTBEAT_SECONDS, LIVE_WORKER_SECONDS, Monitoring
from service.store.people import PeopleRecords, RosterEntry, RosterError
from service.store.sign_ins import SignInRecords
from service.store.submission_states import RunningAttempt, SubmissionStates

__all__ = ["Store", "CourseError", "NewStaff", "Attempt", "Counted", "GivenManualGrade", "Standing", "RosterEntry",
           "RosterError", "RunningAttempt", "Platform", "Context", "Member", "Synced", "HEARTBEAT_SECONDS",
           "LIVE_WORKER_SECONDS"]


class Store(CourseRecords, PeopleRecords, GradebookRecords, SubmissionStates, Monitoring, RenderingRecords,
            SignInRecords, SharedConfiguration, LtiRecords, LtiCourseRecords, LtiRosterRecords,
            LtiScoreRecords):
    """Every read and write of the records, on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessions(engine)
        watch_score_changes(self.sessions)
