"""The review service's tables (its own database, one per deployment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from chassis.auth import path_codes
from chassis.db import UtcDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Case(Base):
    """One initiative under review: the content reviewers read, and where it stands."""

    __tablename__ = "cases"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    # False while only a withdrawal has arrived (events of different types can overtake each other).
    has_content: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    programme: Mapped[str] = mapped_column(String(40), default="")
    phase: Mapped[str] = mapped_column(String(40), default="")
    unit: Mapped[str] = mapped_column(String(64))
    unit_path: Mapped[str] = mapped_column(String(400), default="")
    top_unit: Mapped[str] = mapped_column(String(32), index=True)
    block: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500), default="")
    field: Mapped[str] = mapped_column(String(40), default="")
    target_group: Mapped[int | None] = mapped_column(Integer)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    benefit_vnd_per_year: Mapped[int | None] = mapped_column(BigInteger)
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    level: Mapped[str | None] = mapped_column(String(12))  # the level now reviewing it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    steps: Mapped[list[LevelReview]] = relationship(
        back_populates="case", order_by="LevelReview.position", lazy="selectin"
    )

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.unit_path)

    def step(self, level: str | None) -> LevelReview | None:
        return next((s for s in self.steps if s.level == level), None)

    @property
    def current(self) -> LevelReview | None:
        return self.step(self.level)


class LevelReview(Base):
    """An initiative's review at one level, by one unit."""

    __tablename__ = "level_reviews"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(64))  # the reviewing unit
    unit_path: Mapped[str] = mapped_column(String(400))  # the reviewing unit's own path
    status: Mapped[str] = mapped_column(String(24))
    revision: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The deadline of the action now due (intake, then decision); null once closed.
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    clock: Mapped[str | None] = mapped_column(String(10))  # "intake" or "decision"
    missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    honour: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    certificate_number: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="steps")

    __table_args__ = (
        ForeignKeyConstraint(["initiative_id"], ["cases.initiative_id"]),
        # The work queue: a unit's open items, most urgent first.
        Index("ix_level_reviews_queue", "unit", "status", "due_at"),
        Index("ix_level_reviews_sweep", "status", "due_at"),
        Index("ix_level_reviews_path", "unit_path", postgresql_ops={"unit_path": "varchar_pattern_ops"}),
    )


class Scorecard(Base):
    __tablename__ = "scorecards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    initiative_id: Mapped[str] = mapped_column(String(36))
    level: Mapped[str] = mapped_column(String(12))
    revision: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(128))
    novelty: Mapped[float] = mapped_column(Float)
    applicability: Mapped[float] = mapped_column(Float)
    benefit: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # One vote per reviewer per level and revision: the database enforces it under races.
        UniqueConstraint("initiative_id", "level", "revision", "reviewer", name="uq_scorecards_vote"),
        ForeignKeyConstraint(["initiative_id", "level"], ["level_reviews.initiative_id", "level_reviews.level"]),
    )


class CouncilMember(Base):
    """A member of a unit's initiative council (hội đồng sáng kiến)."""

    __tablename__ = "council_members"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(12))  # chair or member
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Who did what, when and why; written in the transaction of the change itself."""

    __tablename__ = "audit_trail"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    initiative_id: Mapped[str | None] = mapped_column(String(36), index=True)
    level: Mapped[str | None] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Certificate(Base):
    """A recognition certificate (giấy chứng nhận sáng kiến), checkable by its code."""

    __tablename__ = "certificates"
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    verification_code: Mapped[str] = mapped_column(String(48), unique=True)
    initiative_id: Mapped[str] = mapped_column(String(36))
    revision: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(12))
    issued_by: Mapped[str] = mapped_column(String(64))  # the recognising unit
    top_unit: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CertificateSeries(Base):
    """The last number issued per series (unit and year); its row lock orders issuing."""

    __tablename__ = "certificate_series"
    series: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class SimilarityBand(Base):
    """Locality-sensitive band keys of a case's text: equal keys make candidates."""

    __tablename__ = "similarity_bands"
    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class SimilarMatch(Base):
    """An earlier initiative found similar when a case arrived (flag only, never a verdict)."""

    __tablename__ = "similar_matches"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    other_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
