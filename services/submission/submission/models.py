"""The submission service's tables (its own database)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from chassis.auth import path_codes
from chassis.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Cluster(Base):
    __tablename__ = "clusters"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))


class Unit(Base):
    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(12), index=True)
    parent: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    top: Mapped[str | None] = mapped_column(String(40), index=True)
    cluster: Mapped[str | None] = mapped_column(ForeignKey("clusters.code"))
    block: Mapped[str | None] = mapped_column(String(20))
    # "/VGCL/HN/HN-CG/HN-CG-C001/": subtree queries are a prefix match.
    path: Mapped[str] = mapped_column(String(400))

    __table_args__ = (Index("ix_units_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),)

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.path)


class Programme(Base):
    __tablename__ = "programmes"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    blocks: Mapped[list] = mapped_column(JSON, default=list)
    phases: Mapped[list[Phase]] = relationship(order_by="Phase.starts_on", lazy="selectin")


class Phase(Base):
    __tablename__ = "phases"
    programme: Mapped[str] = mapped_column(ForeignKey("programmes.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class Target(Base):
    __tablename__ = "targets"
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    programme: Mapped[str] = mapped_column(ForeignKey("programmes.code"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(20), primary_key=True)
    block: Mapped[str] = mapped_column(String(20), primary_key=True)
    target: Mapped[int] = mapped_column(Integer)
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Member(Base):
    __tablename__ = "members"
    member_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Initiative(Base):
    __tablename__ = "initiatives"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), index=True)
    programme: Mapped[str] = mapped_column(ForeignKey("programmes.code"))
    phase: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    unit_path: Mapped[str] = mapped_column(String(400))
    top_unit: Mapped[str] = mapped_column(String(40))
    block: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    field: Mapped[str] = mapped_column(String(100))
    target_group: Mapped[int] = mapped_column(Integer)
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    novelty: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    first_applied_on: Mapped[date | None] = mapped_column(Date)
    benefit_vnd_per_year: Mapped[int | None] = mapped_column(BigInteger)
    benefit_description: Mapped[str | None] = mapped_column(Text)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_by: Mapped[str] = mapped_column(String(100), index=True)
    submitted_by_role: Mapped[str] = mapped_column(String(20))
    on_behalf: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    return_reason: Mapped[str | None] = mapped_column(Text)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    # Where review has it (domain.Standing): the level and unit reviewing it now, or that
    # decided last; null for initiatives submitted before the lifecycle was followed.
    review_level: Mapped[str | None] = mapped_column(String(12))
    reviewing_unit: Mapped[str | None] = mapped_column(String(64))
    recognized_level: Mapped[str | None] = mapped_column(String(12))  # the highest level that recognised it
    authors: Mapped[list[Author]] = relationship(
        order_by="Author.position", lazy="selectin", cascade="all, delete-orphan"
    )
    # Read for one initiative only (lists leave it alone): loaded when first touched.
    history: Mapped[list[HistoryEntry]] = relationship(
        primaryjoin="Initiative.id == foreign(HistoryEntry.initiative_id)",
        order_by="HistoryEntry.id",
        lazy="select",
        cascade="all, delete-orphan",
    )

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.unit_path)

    @property
    def author_ids(self) -> list[str | None]:
        return [a.member_id for a in self.authors]

    __table_args__ = (
        # Listing a subtree newest first: prefix match on the path, keyset on (time, id).
        Index(
            "ix_initiatives_unit_path_time",
            "unit_path",
            "submitted_at",
            "id",
            postgresql_ops={"unit_path": "varchar_pattern_ops"},
        ),
        Index("ix_initiatives_programme_phase", "programme", "phase"),
    )


class HistoryEntry(Base):
    """One step of an initiative's life: submitted, resubmitted, withdrawn, or a review step.

    Append-only, written only in a transaction that holds its initiative's row (lock). No
    foreign key: the log can be archived or pruned on its own, and an initiative's rows can be
    cleared (tests truncate `initiatives` alone) without it.
    """

    __tablename__ = "initiative_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    initiative_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # domain.HISTORY_KINDS
    revision: Mapped[int | None] = mapped_column(Integer)  # null when the event does not say
    level: Mapped[str | None] = mapped_column(String(12))
    unit: Mapped[str | None] = mapped_column(String(64))  # the reviewing unit (or where it was sent)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it happened (the event's time)
    reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)  # scored: the level's total, 0..10
    passed: Mapped[bool | None] = mapped_column(Boolean)  # scored: whether the total passed
    honour: Mapped[str | None] = mapped_column(String(24))  # nominated: the honour proposed
    event_id: Mapped[str | None] = mapped_column(String(100))  # the event that announced it

    __table_args__ = (Index("ix_initiative_history_initiative", "initiative_id", "at"),)


class Author(Base):
    __tablename__ = "initiative_authors"
    initiative_id: Mapped[str] = mapped_column(ForeignKey("initiatives.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(100), index=True)
    share_percent: Mapped[float] = mapped_column(Numeric(5, 2))


class IdempotencyKey(Base):
    """Remembers the first result of a request (Idempotency-Key header or bulk row digest)."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    initiative_id: Mapped[str] = mapped_column(ForeignKey("initiatives.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
