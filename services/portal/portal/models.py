"""The portal's own tables: people, their role grants, sessions, logins in flight, API clients.

Role grants are the platform's own data (who may do what where); the identity provider only
says who someone is. Everything else the portal shows belongs to the other services.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Person(Base):
    """Someone who has logged in: `id` is "<issuer>|<subject>" of the identity provider."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Grant(Base):
    """A role of a person in a unit. A member grant carries the membership id the services know."""

    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(40))
    unit_path: Mapped[str] = mapped_column(String(400))
    member_id: Mapped[str | None] = mapped_column(String(100))
    granted_by: Mapped[str] = mapped_column(String(300))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_grants_unit_path", "unit_path", postgresql_ops={"unit_path": "varchar_pattern_ops"}),)


class WebSession(Base):
    """A logged-in browser. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    csrf: Mapped[str] = mapped_column(String(64))
    id_token: Mapped[str | None] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class LoginAttempt(Base):
    """An authorization request in flight: its state, PKCE verifier, nonce and where to return."""

    __tablename__ = "login_attempts"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    next_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ApiClient(Base):
    """A machine client (another union system, a service): client-credentials grant."""

    __tablename__ = "api_clients"
    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
