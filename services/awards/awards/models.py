"""The awards service's tables: read models built from events, and the award ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.auth import path_codes
from chassis.db import UtcDateTime, service_metadata

ALL_PHASES = "*"  # the phase of a programme-wide row


class Base(DeclarativeBase):
    metadata = service_metadata()


class Unit(Base):
    """The union tree as `unit.registered` announced it."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(12))
    parent: Mapped[str | None] = mapped_column(String(64))
    top: Mapped[str | None] = mapped_column(String(32))
    cluster: Mapped[str | None] = mapped_column(String(20))
    block: Mapped[str | None] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(400))

    __table_args__ = (Index("ix_units_top_level", "top", "level"),)

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.path)


class Target(Base):
    """A unit's registered target (chỉ tiêu) per programme, phase and block."""

    __tablename__ = "targets"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(40), primary_key=True)
    block: Mapped[str] = mapped_column(String(20), primary_key=True)
    target: Mapped[int] = mapped_column(Integer)


class Member(Base):
    __tablename__ = "members"
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    top_unit: Mapped[str] = mapped_column(String(32))


class Fact(Base):
    """What the awards service knows of one initiative; counts derive from it alone.

    Whatever order its events arrive in, the same final fact gives the same counts.
    """

    __tablename__ = "facts"
    initiative_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    programme: Mapped[str] = mapped_column(String(40))
    phase: Mapped[str] = mapped_column(String(40), default="")
    unit: Mapped[str] = mapped_column(String(64))
    unit_path: Mapped[str] = mapped_column(String(400), default="")
    top_unit: Mapped[str] = mapped_column(String(32))
    block: Mapped[str | None] = mapped_column(String(20))
    target_group: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    confidential: Mapped[bool] = mapped_column(default=False)
    benefit_vnd_per_year: Mapped[int | None] = mapped_column(BigInteger)
    first_applied_on: Mapped[date | None] = mapped_column(Date)
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recognized_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # first recognition, any level
    recognized_level: Mapped[str | None] = mapped_column(String(12))  # the highest level so far
    certificate_number: Mapped[str | None] = mapped_column(String(64))

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.unit_path)

    __table_args__ = (
        # The open-data export walks recognised initiatives in a stable order.
        Index("ix_facts_recognized", "recognized_at", "initiative_id"),
        # Reports and periodic rules read one programme's initiatives of a period.
        Index("ix_facts_programme_submitted", "programme", "submitted_at"),
        Index("ix_facts_programme_recognized", "programme", "recognized_at"),
    )


class Cell(Base):
    """Counts of a unit's subtree for one programme, phase, block and target group."""

    __tablename__ = "cells"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(40), primary_key=True)
    block: Mapped[str] = mapped_column(String(20), primary_key=True)  # "" when none
    target_group: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 when none
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    recognized: Mapped[int] = mapped_column(Integer, default=0)
    benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)  # estimated, of submitted ones
    recognized_benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)


class Total(Base):
    """A unit subtree's standing per programme and phase (and `*` for the whole programme).

    Rankings read this table only: a few hundred rows, never the initiatives.
    """

    __tablename__ = "totals"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(12))
    top: Mapped[str | None] = mapped_column(String(32))
    parent: Mapped[str | None] = mapped_column(String(64))
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    recognized: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    recognized_benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    target: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_totals_rank_level", "programme", "phase", "level"),
        Index("ix_totals_rank_top", "programme", "phase", "top", "level"),
    )


class Participant(Base):
    """An author counted once per unit subtree, programme and phase."""

    __tablename__ = "participants"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    initiatives: Mapped[int] = mapped_column(Integer, default=0)


class Hourly(Base):
    """Changes per hour of a top-level unit's (and the nation's) counts: standings as of any time."""

    __tablename__ = "hourly"
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    recognized: Mapped[int] = mapped_column(Integer, default=0)


class NationalPending(Base):
    """The nation's share of events, appended by consumers and folded into its rows after commit.

    Every event changes the nation's cells, totals and hourly rows; updated in the event's own
    transaction they made every awards transaction wait on the same rows (and Hà Nội's backlog
    held up Thanh Hóa's events). Appending here contends on nothing.
    """

    __tablename__ = "national_pending"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # cells, totals, hourly
    unit: Mapped[str] = mapped_column(String(64))
    programme: Mapped[str] = mapped_column(String(40))
    phase: Mapped[str] = mapped_column(String(40), default="")
    block: Mapped[str] = mapped_column(String(20), default="")
    target_group: Mapped[int] = mapped_column(Integer, default=0)
    hour: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    recognized: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    recognized_benefit_vnd: Mapped[int] = mapped_column(BigInteger, default=0)


class RankSnapshot(Base):
    """A ranking as it stood when taken (daily at 7:00, or on demand): rank changes compare these."""

    __tablename__ = "rank_snapshots"
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)  # "national", "cluster:C1", "top:HN"
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)

    # The latest snapshot of a ranking before a given time: one index range, however many days are kept.
    __table_args__ = (Index("ix_rank_snapshots_latest", "programme", "scope", "metric", "taken_at"),)


class LedgerEntry(Base):
    """An award, a bonus or a remuneration installment: who, what, why, which rule, how much, when due."""

    __tablename__ = "ledger"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Re-running a rule finds its earlier grant by this key and grants nothing new.
    grant_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # certificate_of_merit, bonus, benefit_reward, remuneration
    programme: Mapped[str] = mapped_column(String(40))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[str] = mapped_column(String(32))
    recipient_type: Mapped[str] = mapped_column(String(12))  # individual or collective
    recipient_unit: Mapped[str] = mapped_column(String(64))
    recipient_member: Mapped[str | None] = mapped_column(String(128))
    top_unit: Mapped[str] = mapped_column(String(32), index=True)
    initiative_id: Mapped[str | None] = mapped_column(String(36), index=True)
    period: Mapped[str | None] = mapped_column(String(10))
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    certificate_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    verification_code: Mapped[str | None] = mapped_column(String(48), unique=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_ledger_due", "kind", "due_on", "due_announced_at"),)


class CertificateSeries(Base):
    __tablename__ = "certificate_series"
    series: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
