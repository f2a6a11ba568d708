"""Notify's API use cases: the inbox, preferences, webhook subscriptions and their deliveries."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.errors import Conflict, Forbidden, NotFound
from chassis.validation import FieldError, int_arg, load, validation_failed
from notify import audience
from notify.channels import webhook_url_problem
from notify.commands import recipients_of
from notify.models import Contact, Delivery, Message, Subscription
from notify.schemas import PreferencesIn, SubscriptionIn

PREFERENCES_IN, SUBSCRIPTION_IN = PreferencesIn(), SubscriptionIn()
MAILBOX = re.compile(r"(reviewer|unit_admin|support_team)@([A-Z][A-Z0-9-]{0,63})")
ADMINS = ("national_admin", "operator")


def _page(args: Any, default: int = 50) -> tuple[int, int]:
    return int_arg(args, "limit", default, 1, 200), int_arg(args, "offset", 0, 0, 1_000_000)


def inbox(session: Session, principal: Principal, args: Any) -> dict[str, Any]:
    """The caller's messages and their role's at their unit, newest first."""
    mine = list(recipients_of(principal.sub, principal.role, principal.unit))
    unread = args.get("unread", "false")
    if unread not in ("true", "false"):
        raise validation_failed([FieldError("unread", "Must be true or false.", "Phải là true hoặc false.")])
    unread_only = unread == "true"
    limit, offset = _page(args)
    query = select(Message).where(Message.recipient.in_(mine))
    if unread_only:
        query = query.where(Message.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    unread = session.scalar(
        select(func.count()).select_from(Message).where(Message.recipient.in_(mine), Message.read_at.is_(None))
    )
    items = list(
        session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).offset(offset).limit(limit))
    )
    return {
        "items": items,
        "total": total,
        "unread": unread or 0,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def mark_read(session: Session, principal: Principal, message_id: str | None, now: datetime) -> int:
    mine = list(recipients_of(principal.sub, principal.role, principal.unit))
    query = update(Message).where(Message.recipient.in_(mine), Message.read_at.is_(None)).values(read_at=now)
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None or message.recipient not in mine:
            raise NotFound("No such message in your inbox.", "Không có thư này trong hộp thư của bạn.")
        query = query.where(Message.id == message_id)
    return session.execute(query).rowcount or 0


def _preferences_owner(principal: Principal, mailbox: str | None) -> str:
    """A member sets their own; a unit's admin sets the unit's role mailboxes."""
    if mailbox is None:
        return audience.member(principal.sub)
    match = MAILBOX.fullmatch(mailbox)
    if match is None:
        raise validation_failed(
            [FieldError("mailbox", "A mailbox: <role>@<unit code>.", "Hộp thư dạng <vai trò>@<mã đơn vị>.")]
        )
    if principal.role not in ADMINS and not (principal.role == "unit_admin" and principal.unit == match.group(2)):
        raise Forbidden(
            "Only the unit's admin sets its mailboxes.", "Chỉ quản trị viên đơn vị mới cài đặt hộp thư này."
        )
    return mailbox


def preferences(session: Session, principal: Principal, mailbox: str | None) -> dict[str, Any]:
    owner = _preferences_owner(principal, mailbox)
    contact = session.get(Contact, owner)
    if contact is None:
        return {
            "recipient": owner,
            "email": None,
            "phone": None,
            "zalo_user_id": None,
            "language": "vi",
            "channels": [],
            "digest": True,
            "updated_at": None,
        }
    return {
        "recipient": owner,
        **{
            k: getattr(contact, k)
            for k in ("email", "phone", "zalo_user_id", "language", "channels", "digest", "updated_at")
        },
    }


def set_preferences(
    session: Session, principal: Principal, mailbox: str | None, payload: Any, now: datetime
) -> dict[str, Any]:
    data = load(PREFERENCES_IN, payload)
    owner = _preferences_owner(principal, mailbox)
    needs = {"email": "email", "sms": "phone", "zalo": "zalo_user_id"}
    missing = [
        FieldError("channels", f"The {c} channel needs {needs[c]}.", f"Kênh {c} cần có {needs[c]}.")
        for c in data["channels"]
        if not data.get(needs[c])
    ]
    if missing:
        raise validation_failed(missing)
    contact = session.get(Contact, owner) or Contact(recipient=owner)
    for name, value in data.items():
        setattr(contact, name, sorted(set(value)) if name == "channels" else value)
    contact.updated_by, contact.updated_at = principal.sub, now
    session.merge(contact)
    session.flush()
    return preferences(session, principal, mailbox)


def _subscriber(principal: Principal, units: list[str]) -> None:
    """The national office subscribes to anything; a top-level unit's admin to its own unit's events."""
    if principal.role in ADMINS:
        return
    principal.require(("unit_admin",))
    if units != [principal.unit]:
        raise Forbidden(
            "A unit's admin subscribes to its own unit's events only.",
            "Quản trị viên đơn vị chỉ đăng ký nhận sự kiện của chính đơn vị mình.",
        )


def subscribe(
    session: Session, principal: Principal, payload: Any, now: datetime, allow_private: bool = False
) -> Subscription:
    data = load(SUBSCRIPTION_IN, payload)
    _subscriber(principal, data["units"])
    problem = webhook_url_problem(data["url"], allow_private)
    if problem is not None:
        raise validation_failed([FieldError("url", *problem)])
    sub = Subscription(
        id=str(uuid.uuid4()),
        url=data["url"],
        secret=data["secret"],
        event_types=sorted(set(data["event_types"])),
        units=sorted(set(data["units"])),
        active=True,
        created_by=principal.sub,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    return sub


def _own_subscription(session: Session, principal: Principal, subscription_id: str, lock: bool = False) -> Subscription:
    sub = session.get(Subscription, subscription_id, with_for_update=lock)
    if sub is None or (principal.role not in ADMINS and sub.created_by != principal.sub):
        raise NotFound("No such webhook subscription.", "Không tìm thấy đăng ký webhook.")
    return sub


def subscriptions(session: Session, principal: Principal) -> list[Subscription]:
    principal.require((*ADMINS, "unit_admin"))
    query = select(Subscription).order_by(Subscription.created_at)
    if principal.role not in ADMINS:
        query = query.where(Subscription.created_by == principal.sub)
    return list(session.scalars(query))


def disable(session: Session, principal: Principal, subscription_id: str) -> Subscription:
    principal.require((*ADMINS, "unit_admin"))
    sub = _own_subscription(session, principal, subscription_id, lock=True)
    sub.active = False
    return sub


def deliveries(session: Session, principal: Principal, args: Any, subscription_id: str | None) -> dict[str, Any]:
    """A subscription's deliveries (its owner), or any channel's (operators), newest first."""
    principal.require((*ADMINS, "unit_admin"))
    query = select(Delivery)
    if subscription_id is not None:
        _own_subscription(session, principal, subscription_id)
        query = query.where(Delivery.recipient == f"webhook:{subscription_id}")
    elif principal.role not in ADMINS:
        raise Forbidden()
    status = args.get("status")
    if status is not None:
        if status not in ("pending", "sent", "parked"):
            raise validation_failed(
                [
                    FieldError(
                        "status", "Must be one of: pending, sent, parked.", "Phải là một trong: pending, sent, parked."
                    )
                ]
            )
        query = query.where(Delivery.status == status)
    limit, offset = _page(args)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(Delivery.created_at.desc(), Delivery.id).offset(offset).limit(limit)))
    return {"items": items, "total": total, "next_offset": offset + limit if offset + limit < total else None}


def replay(session: Session, principal: Principal, delivery_id: str, now: datetime) -> Delivery:
    """An operator sends a parked delivery again, after the fix."""
    principal.require((*ADMINS, "unit_admin"))
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None:
        raise NotFound("No such delivery.", "Không tìm thấy lượt gửi này.")
    if principal.role not in ADMINS:
        if not row.recipient.startswith("webhook:"):
            raise NotFound("No such delivery.", "Không tìm thấy lượt gửi này.")
        _own_subscription(session, principal, row.recipient.removeprefix("webhook:"))
    if row.status != "parked":
        raise Conflict(
            "Only a parked delivery is replayed.", "Chỉ gửi lại được lượt gửi đã tạm dừng.", code="not_parked"
        )
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, now, None
    return row
