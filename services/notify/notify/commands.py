"""Use cases of notify: an event becomes inbox messages and deliveries, once per recipient and channel."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chassis.calendar import LOCAL
from chassis.config import setting
from chassis.consuming import DONE, Outcome, retry
from chassis.envelope import dumps
from chassis.service_token import ServiceToken
from notify import audience, rendering
from notify.audience import Notice
from notify.models import Activity, Contact, Delivery, Initiative, Message, Reminder, Subscription

log = logging.getLogger(__name__)
ADDRESS_OF = {"email": "email", "zalo": "zalo_user_id", "sms": "phone"}
CLOSES_REVIEW = ("initiative.recognized", "initiative.rejected", "initiative.returned", "initiative.nominated")


def now_utc() -> datetime:
    return datetime.now(UTC)


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _remember(session: Session, event: dict[str, Any]) -> dict[str, Any] | None:
    """Keeps who an initiative's news is for; later events name only the initiative."""
    data = event["data"]
    initiative_id = data.get("initiative_id")
    if not initiative_id:
        return None
    if event["type"] in ("initiative.submitted", "initiative.resubmitted"):
        row = {
            "initiative_id": initiative_id,
            "revision": data["revision"],
            "title": data["title"],
            "unit": data["unit"],
            "unit_path": "/" + "/".join(data["unit_path"]) + "/",
            "top_unit": data["top_unit"],
            "authors": [a["member_id"] for a in data["authors"] if a.get("member_id")],
            "submitted_by": data["submitted_by"]["member_id"],
        }
        stmt = _insert(session, Initiative.__table__).values(**row)
        newer = Initiative.__table__.c.revision < stmt.excluded.revision
        session.execute(stmt.on_conflict_do_update(index_elements=["initiative_id"], set_=row, where=newer))
    known = session.get(Initiative, initiative_id)
    if known is None:
        return None
    return {"title": known.title, "authors": known.authors, "unit_path": [c for c in known.unit_path.split("/") if c]}


# Events that name only the initiative: who its authors are comes from its submission.
NEEDS_AUTHORS = ("review.started", "initiative.returned", "initiative.rejected", "initiative.nominated")


def handle_batch(session: Session, events: list[dict[str, Any]], now: datetime) -> list[Outcome]:
    """Everything a batch of events causes, one outcome each; the day's counters once per batch."""
    activity: Counter = Counter()
    outcomes = [handle(session, event, now, activity) for event in events]
    write_activity(session, activity)
    return outcomes


def handle(session: Session, event: dict[str, Any], now: datetime, activity: Counter | None = None) -> Outcome:
    """Everything one event causes; its digest counts go to `activity` (written at once without one)."""
    known = _remember(session, event)
    if known is None and event["type"] in NEEDS_AUTHORS:
        # Queues of different event types drain independently: wait for the submission
        # (redelivered with backoff; after the delivery limit it waits in the dead-letter queue).
        return retry(f"initiative {event['data']['initiative_id']} not yet known")
    for notice in audience.notices(event, known):
        deliver(session, event["id"], notice, now)
    counts = Counter() if activity is None else activity
    _count_activity(counts, event, known)
    if activity is None:
        write_activity(session, counts)
    _track_deadline(session, event, now)
    _to_webhooks(session, event, now)
    return DONE


def deliver(session: Session, event_id: str, notice: Notice, now: datetime) -> int:
    """The inbox message, and a delivery per outside channel the recipient chose (each at most once)."""
    contact = session.get(Contact, notice.recipient)
    language = contact.language if contact else "vi"
    subject, body = rendering.render(notice.category, language, notice.context)
    initiative_id = notice.context.get("initiative_id")
    message = {
        "id": str(uuid.uuid4()),
        "recipient": notice.recipient,
        "event_id": event_id,
        "category": notice.category,
        "subject": subject[:500],
        "body": body,
        "initiative_id": initiative_id if isinstance(initiative_id, str) else None,
        "created_at": now,
    }
    session.execute(_insert(session, Message.__table__).values(**message).on_conflict_do_nothing())
    made = 1
    for channel in contact.channels if contact else []:
        address = getattr(contact, ADDRESS_OF[channel], None) if channel in ADDRESS_OF else None
        if address:
            made += _queue(session, event_id, notice.recipient, channel, notice.category, address, subject, body, now)
    return made


def _queue(
    session: Session,
    event_id: str,
    recipient: str,
    channel: str,
    category: str,
    address: str,
    subject: str,
    body: str,
    now: datetime,
) -> int:
    row = {
        "id": str(uuid.uuid4()),
        "event_id": event_id,
        "recipient": recipient,
        "channel": channel,
        "category": category,
        "address": address,
        "subject": subject[:500],
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    result = session.execute(_insert(session, Delivery.__table__).values(**row).on_conflict_do_nothing())
    return result.rowcount or 0


def _count_activity(counts: Counter, event: dict[str, Any], known: dict[str, Any] | None) -> None:
    kind = audience.DIGEST_KINDS.get(event["type"])
    if kind is None:
        return
    day = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).astimezone(LOCAL).date()
    for unit in audience.digest_units(event, (known or {}).get("unit_path", [])):
        counts[(unit, day, kind)] += 1


def write_activity(session: Session, counts: Counter) -> None:
    """The batch's daily counters, summed and in key order.

    In key order, concurrent transactions (batches of events of many units) lock the shared
    counter rows in one order, so they wait for each other instead of deadlocking.
    """
    for (unit, day, kind), n in sorted(counts.items()):
        stmt = _insert(session, Activity.__table__).values(unit=unit, day=day, kind=kind, count=n)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["unit", "day", "kind"], set_={"count": Activity.__table__.c.count + n}
            )
        )


def _track_deadline(session: Session, event: dict[str, Any], now: datetime) -> None:
    """review.started announces a decision date: remind the reviewers before it; a decision closes it."""
    data = event["data"]
    if event["type"] == "review.started":
        due = datetime.fromisoformat(data["decision_due_at"].replace("Z", "+00:00"))
        remind = due - timedelta(days=int(setting("REMIND_DAYS")))
        row = {
            "initiative_id": data["initiative_id"],
            "level": data["level"],
            "level_unit": data["level_unit"],
            "due_at": due,
            "remind_at": remind,
            "closed": False,
        }
        stmt = _insert(session, Reminder.__table__).values(**row)
        session.execute(stmt.on_conflict_do_update(index_elements=["initiative_id", "level"], set_=row))
    elif event["type"] in CLOSES_REVIEW:
        level = data.get("level") or data.get("from_level")
        session.execute(
            update(Reminder)
            .where(Reminder.initiative_id == data["initiative_id"], Reminder.level == level)
            .values(closed=True)
        )


def _to_webhooks(session: Session, event: dict[str, Any], now: datetime) -> None:
    top = str(event.get("unit") or event["data"].get("top_unit") or "")
    for sub in session.scalars(select(Subscription).where(Subscription.active.is_(True))):
        if event["type"] in sub.event_types and ("*" in sub.units or top in sub.units):
            _queue(
                session,
                event["id"],
                f"webhook:{sub.id}",
                "webhook",
                event["type"],
                sub.url,
                event["type"],
                dumps(event),
                now,
            )


# --- Timed work -----------------------------------------------------------------------------


def send_reminders(session: Session, now: datetime) -> int:
    due = session.scalars(
        select(Reminder)
        .where(Reminder.remind_at <= now, Reminder.sent_at.is_(None), Reminder.closed.is_(False))
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    sent = 0
    for reminder in due:
        known = session.get(Initiative, reminder.initiative_id)
        context = {
            "title": known.title if known else reminder.initiative_id,
            "level_unit": reminder.level_unit,
            "due_at": reminder.due_at.isoformat(),
            "initiative_id": reminder.initiative_id,
        }
        notice = Notice(audience.mailbox("reviewer", reminder.level_unit), "deadline_approaching", context)
        sent += deliver(session, f"reminder:{reminder.initiative_id}:{reminder.level}", notice, now)
        reminder.sent_at = now
    return sent


_awards_token: ServiceToken | None = None


def _standing(unit: str) -> dict[str, Any] | None:
    """The unit's standing from the awards API, when configured; a digest goes out without it otherwise.

    Notify calls awards with its own token: client credentials at the portal (SERVICE_TOKEN_URL)."""
    global _awards_token
    base = setting("AWARDS_API_URL")
    if not base:
        return None
    if _awards_token is None:
        _awards_token = ServiceToken()
    try:
        for attempt in range(2):
            answer = requests.get(
                f"{base}/api/v1/standings/{unit}",
                params={"programme": setting("DIGEST_PROGRAMME")},
                headers=_awards_token.header(),
                timeout=5,
            )
            if answer.status_code == 401 and not attempt:
                _awards_token.forget()  # expired or the key rotated: one fresh token, once
                continue
            return answer.json() if answer.status_code == 200 else None
        return None
    except (requests.RequestException, ValueError, OAuthError):
        log.warning("awards API unavailable for a digest; sending it without the standing")
        return None


def send_digests(session: Session, now: datetime, day: date | None = None) -> int:
    """One message per unit admin and support team per day, however many events the day had."""
    local = now.astimezone(LOCAL)
    if day is None:
        if local.hour < int(setting("DIGEST_HOUR")):
            return 0
        day = local.date()
    rows = session.execute(
        select(Activity.unit, Activity.kind, Activity.count).where(Activity.day == day).order_by(Activity.unit)
    ).all()
    by_unit: dict[str, list[tuple[str, int]]] = {}
    for unit, kind, n in rows:
        by_unit.setdefault(unit, []).append((kind, n))
    made = 0
    for unit, counts in by_unit.items():
        event_id = f"digest:{unit}:{day.isoformat()}"
        if session.scalar(select(Message.id).where(Message.event_id == event_id).limit(1)):
            continue  # already sent today
        context = {"unit": unit, "day": day.strftime("%d/%m/%Y"), "counts": counts, "standing": _standing(unit)}
        for role in ("unit_admin", "support_team"):
            mailbox = audience.mailbox(role, unit)
            contact = session.get(Contact, mailbox)
            if contact is not None and not contact.digest:
                continue  # the mailbox opted out of digests
            made += deliver(session, event_id, Notice(mailbox, "digest", context), now)
    return made


def recipients_of(principal_sub: str, principal_role: str, principal_unit: str) -> Iterable[str]:
    """The mailboxes a caller reads: their own, and their role's at their unit."""
    yield audience.member(principal_sub)
    if principal_role in ("reviewer", "unit_admin", "support_team", "national_admin", "operator"):
        yield audience.mailbox(principal_role, principal_unit)
