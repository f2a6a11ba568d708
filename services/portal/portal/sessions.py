"""Browser sessions: a random id in an HttpOnly SameSite cookie, its hash and CSRF token in the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Request, Response

from portal.grants import Acting
from portal.models import Grant, Person, WebSession

COOKIE = "sk_session"
LOGIN_COOKIE = "sk_login"
LANG_COOKIE = "sk_lang"


def now() -> datetime:
    return datetime.now(UTC)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Visitor:
    """Who is on the page: a person with their grants and the one they act in, or nobody."""

    person: Person | None = None
    session: WebSession | None = None
    grants: tuple[Grant, ...] = ()
    active: Grant | None = None

    @property
    def logged_in(self) -> bool:
        return self.person is not None

    @property
    def acting(self) -> Acting | None:
        if self.person is None or self.active is None:
            return None
        return Acting(self.person.id, self.active.role, self.active.unit, self.active.unit_path)

    @property
    def role(self) -> str | None:
        return self.active.role if self.active else None

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(self.session and sent and hmac.compare_digest(self.session.csrf, sent))


def active_grants(db: Session, person: str) -> list[Grant]:
    return list(
        db.scalars(
            select(Grant).where(Grant.person == person, Grant.revoked_at.is_(None)).order_by(Grant.granted_at, Grant.id)
        )
    )


def load_visitor(db: Session, request: Request) -> Visitor:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 200:
        return Visitor()
    row = db.get(WebSession, digest(raw))
    if row is None or row.expires_at <= now():
        return Visitor()
    person = db.get(Person, row.person)
    if person is None:
        return Visitor()
    grants = active_grants(db, person.id)
    active = next((g for g in grants if g.id == row.grant_id), None)
    if active is None and grants:
        active = grants[0]
    return Visitor(person, row, tuple(grants), active)


def start(db: Session, person: Person, id_token: str | None, hours: int) -> tuple[str, WebSession]:
    raw = secrets.token_urlsafe(32)
    row = WebSession(
        id_hash=digest(raw),
        person=person.id,
        grant_id=None,
        csrf=secrets.token_urlsafe(32),
        id_token=id_token,
        created_at=now(),
        expires_at=now() + timedelta(hours=hours),
    )
    db.add(row)
    # A login also clears this person's expired sessions.
    db.execute(delete(WebSession).where(WebSession.person == person.id, WebSession.expires_at <= now()))
    return raw, row


def end(db: Session, visitor: Visitor) -> None:
    if visitor.session is not None:
        db.execute(delete(WebSession).where(WebSession.id_hash == visitor.session.id_hash))


def set_cookie(response: Response, name: str, value: str, secure: bool, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/")


def clear_cookie(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="Lax", secure=secure)
