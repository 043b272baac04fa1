"""LTI records: registered platforms with their deployments, OIDC logins in flight (each state used once).
What a platform's contexts, users and links are here is in service/store/lti_courses.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import database_now, now
from service.models import LtiDeployment, LtiLogin, LtiPlatform

LOGIN_LIFETIME = timedelta(minutes=10)   # a login the platform has not answered by then is refused


@dataclass(frozen=True)
class Platform:
    """A registration as the launch and the listings read it."""

    id: int
    issuer: str
    client_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    deployments: tuple[str, ...]


@dataclass(frozen=True)
class StartedLogin:
    nonce: str
    platform_id: int


class LtiRecords:
    sessions: sessionmaker[Session]

    def add_platform(self, issuer: str, client_id: str, deployment_id: str, auth_url: str, token_url: str,
                     jwks_url: str) -> Platform:
        """Register a platform, or for one already registered (issuer and client id) update its URLs and add the
        deployment: a platform has several deployments, each added this way."""
        with self.sessions.begin() as s:
            row = s.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id))
            if row is None:
                row = LtiPlatform(issuer=issuer, client_id=client_id, added_at=now())
                s.add(row)
            row.auth_url, row.token_url, row.jwks_url = auth_url, token_url, jwks_url
            s.flush()
            if s.get(LtiDeployment, (row.id, deployment_id)) is None:
                s.add(LtiDeployment(platform_id=row.id, deployment_id=deployment_id))
            platform_id = row.id
        return next(p for p in self.platforms() if p.id == platform_id)

    def platforms(self, issuer: str | None = None) -> list[Platform]:
        """Every registration (or an issuer's), each with its deployments."""
        with self.sessions() as s:
            query = select(LtiPlatform).order_by(LtiPlatform.issuer, LtiPlatform.client_id)
            rows = s.scalars(query.where(LtiPlatform.issuer == issuer) if issuer is not None else query).all()
            deployments: dict[int, list[str]] = {}
            for d in s.scalars(select(LtiDeployment).order_by(LtiDeployment.deployment_id)):
                deployments.setdefault(d.platform_id, []).append(d.deployment_id)
            return [Platform(r.id, r.issuer, r.client_id, r.auth_url, r.token_url, r.jwks_url,
                             tuple(deployments.get(r.id, ()))) for r in rows]

    def start_login(self, state: str, nonce: str, platform_id: int) -> None:
        """Keep a login's state and nonce for its launch; logins older than their lifetime are forgotten."""
        with self.sessions.begin() as s:   # the launch may reach another API machine: the database's clock
            clock = database_now(s)
            s.execute(delete(LtiLogin).where(LtiLogin.started_at < clock - LOGIN_LIFETIME))
            s.add(LtiLogin(state=state, nonce=nonce, platform_id=platform_id, started_at=clock))

    def take_login(self, state: str) -> StartedLogin | None:
        """The login of this state, removed as it is read (a second launch with it finds nothing); None when it
        is unknown, used or older than its lifetime."""
        with self.sessions.begin() as s:
            clock = database_now(s)
            taken = s.execute(delete(LtiLogin).where(LtiLogin.state == state)
                              .returning(LtiLogin.nonce, LtiLogin.platform_id, LtiLogin.started_at)).first()
        if taken is None or taken.started_at < clock - LOGIN_LIFETIME:
            return None
        return StartedLogin(taken.nonce, taken.platform_id)
