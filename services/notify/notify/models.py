"""The notify service's tables: what it must know to address people, and what it sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Initiative(Base):
    """Who an initiative's news is for (ids only), kept from the submission events."""

    __tablename__ = "initiatives"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(64))
    unit_path: Mapped[str] = mapped_column(String(400))
    top_unit: Mapped[str] = mapped_column(String(32))
    authors: Mapped[list[str]] = mapped_column(JSON)  # member ids
    submitted_by: Mapped[str] = mapped_column(String(128))


class Contact(Base):
    """A member's contact details and channels, given by the member (or their support team)."""

    __tablename__ = "contacts"
    recipient: Mapped[str] = mapped_column(String(200), primary_key=True)  # member:<id> or <role>@<unit>
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    zalo_user_id: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    channels: Mapped[list[str]] = mapped_column(JSON)  # besides the in-app inbox
    digest: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Message(Base):
    """The in-app inbox: one message per event and recipient, however often the event arrives."""

    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    initiative_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("event_id", "recipient", name="uq_messages_event_recipient"),
        Index("ix_messages_inbox", "recipient", "created_at"),
    )


class Delivery(Base):
    """A message on its way through an outside channel: retried with backoff, then parked."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(12))  # email, zalo, sms, webhook
    category: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(500))  # personal data: stored, never logged
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending, sent, parked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel", name="uq_deliveries_once"),
        # The dispatcher's claim: a channel's due deliveries, oldest first.
        Index("ix_deliveries_due", "channel", "status", "next_attempt_at"),
    )


class Subscription(Base):
    """A union system that cannot speak AMQP: events it wants, POSTed to its URL, signed."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    units: Mapped[list[str]] = mapped_column(JSON)  # top-level unit codes, or ["*"]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Activity(Base):
    """What happened in a unit on a day, for its admins' and support team's daily digest."""

    __tablename__ = "activity"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Reminder(Base):
    """A decision deadline to warn about before it passes (review announces the due date)."""

    __tablename__ = "reminders"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    level_unit: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    remind_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
