"""Use cases of notify: an event becomes inbox messages and deliveries, once per recipient and channel."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.calendar import LOCAL
from chassis.config import setting
from chassis.consuming import DONE, Outcome, poison, retry
from chassis.service_token import ServiceToken
from notify import audience, fanout, initiatives, reminders, rendering, writing
from notify.audience import Notice
from notify.models import Activity, Contact, Delivery, Initiative, Message, Reminder

log = logging.getLogger(__name__)
# Errors of an event's own data (contract-valid, yet no rule or template can use it): it never
# succeeds, so it is poison; anything else (the database) raises and the batch is handled again.
DATA_ERRORS = (LookupError, ValueError, TypeError, AttributeError, TemplateError)
# Events that name only the initiative: who its authors are comes from its submission.
NEEDS_AUTHORS = ("review.started", "initiative.returned", "initiative.rejected", "initiative.nominated")


def now_utc() -> datetime:
    return datetime.now(UTC)


def handle_batch(session: Session, events: list[dict[str, Any]], now: datetime) -> list[Outcome]:
    """Everything a batch of events causes, one outcome each; the day's counters once per batch."""
    activity: Counter = Counter()
    outcomes = _handle(session, events, now, activity)
    write_activity(session, activity)
    return outcomes


def handle(session: Session, event: dict[str, Any], now: datetime, activity: Counter | None = None) -> Outcome:
    """Everything one event causes; its digest counts go to `activity` (written at once without one)."""
    counts: Counter = Counter()
    (outcome,) = _handle(session, [event], now, counts)
    if activity is None:
        write_activity(session, counts)
    else:
        activity.update(counts)
    return outcome


@dataclass
class _Planned:
    """One event's effects but its rendering, as they stand once the batch's earlier events are in."""

    event: dict[str, Any]
    notices: list[Notice]
    initiative: dict[str, Any] | None  # the row it makes notify keep (a newer revision), if any
    opens: dict[str, Any] | None  # a reminder row
    closes: tuple[str, str] | None  # a reminder's key
    activity: Counter
    webhooks: list[dict[str, Any]]


def _handle(session: Session, events: list[dict[str, Any]], now: datetime, activity: Counter) -> list[Outcome]:
    """A batch in a few statements: the initiatives it names and the contacts and subscriptions it
    needs read once each, its rows rendered in memory, then written one statement per table.

    The same rows as handling the events one after another: each event sees what notify keeps
    of its initiative once the batch's earlier events are in. An event that is not done writes
    nothing, and the batch's later events are planned again without it.
    """
    ids = {e["data"].get("initiative_id") for e in events}
    kept = initiatives.load(session, {i for i in ids if isinstance(i, str)})
    subscriptions = fanout.subscriptions(session)
    remind_days = int(setting("REMIND_DAYS"))
    contacts: dict[str, dict[str, Any] | None] = {}
    refused: dict[int, Outcome] = {}
    while True:
        planned = _plan(events, kept, refused, subscriptions, remind_days, now)
        wanted = {n.recipient for p in planned.values() for n in p.notices} - contacts.keys()
        contacts.update(fanout.contacts(session, wanted))
        messages, deliveries, unrenderable = _render(planned, contacts, now)
        if not unrenderable:
            break
        _refuse(unrenderable, planned, refused)  # rare: plan again, without them
    remembered: dict[str, dict[str, Any]] = {}
    deadlines = reminders.Changes()
    for p in planned.values():
        if p.initiative is not None:
            remembered[p.initiative["initiative_id"]] = p.initiative
        if p.opens is not None:
            deadlines.open(p.opens)
        if p.closes is not None:
            deadlines.close(p.closes)
        activity.update(p.activity)
    initiatives.remember(session, list(remembered.values()))
    writing.insert_new(session, Message.__table__, messages)
    writing.insert_new(session, Delivery.__table__, deliveries)
    deadlines.write(session)
    return [refused.get(i, DONE) for i in range(len(events))]


def _plan(
    events: list[dict[str, Any]],
    kept: dict[str, dict[str, Any]],
    refused: dict[int, Outcome],
    subscriptions: list[dict[str, Any]],
    remind_days: int,
    now: datetime,
) -> dict[int, _Planned]:
    """Each event's effects in order (plain data, no database); refusals go to `refused`."""
    state = dict(kept)  # what notify keeps of each initiative, as the batch's events go in
    planned: dict[int, _Planned] = {}
    for i, event in enumerate(events):
        if i in refused:
            continue
        try:
            row = initiatives.row_of(event)
            initiative_id = event["data"].get("initiative_id")
            now_kept = state.get(initiative_id) if isinstance(initiative_id, str) and initiative_id else None
            if row is not None and initiatives.replaces(row, now_kept):
                now_kept = row
            known = initiatives.known(now_kept)
            if known is None and event["type"] in NEEDS_AUTHORS:
                # Queues of different event types drain independently: wait for the submission
                # (redelivered with backoff; after the delivery limit it waits in the dead-letter queue).
                refused[i] = retry(f"initiative {initiative_id} not yet known")
                continue
            counts: Counter = Counter()
            _count_activity(counts, event, known)
            planned[i] = _Planned(
                event,
                audience.notices(event, known),
                now_kept if now_kept is row else None,
                reminders.opened(event, remind_days),
                reminders.closed(event),
                counts,
                fanout.webhook_rows(subscriptions, event, now),
            )
        except DATA_ERRORS as exc:
            refused[i] = _poison(event, exc)
            continue
        if now_kept is not None:
            state[initiative_id] = now_kept
    return planned


def _refuse(unrenderable: dict[int, Outcome], planned: dict[int, _Planned], refused: dict[int, Outcome]) -> None:
    """Refuses the events that fail whatever came before them, in order. A later event of an initiative
    whose refused submission it saw is planned again without it, and may then render."""
    withdrawn: set[str] = set()  # initiatives whose row this round refuses
    for i in sorted(unrenderable):
        initiative_id = planned[i].event["data"].get("initiative_id")
        if initiative_id in withdrawn:
            continue
        refused[i] = unrenderable[i]
        if planned[i].initiative is not None:
            withdrawn.add(initiative_id)


def _render(
    planned: dict[int, _Planned], contacts: dict[str, dict[str, Any] | None], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, Outcome]]:
    """The planned events' messages and deliveries, in event order; events no template can render."""
    messages: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    unrenderable: dict[int, Outcome] = {}
    for i, p in planned.items():
        event_id = p.event["id"]
        rendered: dict[tuple[str, str, int], tuple[str, str]] = {}  # an event's notices share a context
        own_messages, own_deliveries = [], []
        try:
            for notice in p.notices:
                contact = contacts.get(notice.recipient)
                key = (notice.category, fanout.language(contact), id(notice.context))
                if key not in rendered:
                    rendered[key] = rendering.render(key[0], key[1], notice.context)
                subject, body = rendered[key]
                own_messages.append(fanout.message_row(event_id, notice, subject, body, now))
                own_deliveries += fanout.deliveries_to(contact, event_id, notice, subject, body, now)
        except DATA_ERRORS as exc:
            unrenderable[i] = _poison(p.event, exc)
            continue
        messages += own_messages
        deliveries += own_deliveries + p.webhooks
    return messages, deliveries, unrenderable


def _poison(event: dict[str, Any], exc: BaseException) -> Outcome:
    log.warning("%s %s cannot be handled: %s", event.get("type"), event.get("id"), type(exc).__name__)
    return poison(f"{type(exc).__name__}: {exc}"[:300])


def deliver(session: Session, event_id: str, notice: Notice, now: datetime) -> int:
    """The inbox message, and a delivery per outside channel the recipient chose (each at most once)."""
    contact = fanout.contacts(session, [notice.recipient])[notice.recipient]
    subject, body = rendering.render(notice.category, fanout.language(contact), notice.context)
    message = fanout.message_row(event_id, notice, subject, body, now)
    session.execute(writing.insert(session, Message.__table__).values(**message).on_conflict_do_nothing())
    made = 1
    for row in fanout.deliveries_to(contact, event_id, notice, subject, body, now):
        result = session.execute(writing.insert(session, Delivery.__table__).values(**row).on_conflict_do_nothing())
        made += result.rowcount or 0
    return made


def _count_activity(counts: Counter, event: dict[str, Any], known: dict[str, Any] | None) -> None:
    kind = audience.DIGEST_KINDS.get(event["type"])
    if kind is None:
        return
    day = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).astimezone(LOCAL).date()
    for unit in audience.digest_units(event, (known or {}).get("unit_path", [])):
        counts[(unit, day, kind)] += 1


def write_activity(session: Session, counts: Counter) -> None:
    """The batch's daily counters, summed, in one statement in key order.

    In key order, concurrent transactions (batches of events of many units) lock the shared
    counter rows in one order, so they wait for each other instead of deadlocking.
    """
    rows = [{"unit": unit, "day": day, "kind": kind, "count": n} for (unit, day, kind), n in sorted(counts.items())]
    writing.upsert(session, Activity.__table__, rows, ["unit", "day", "kind"], set_=_added)


def _added(table: Any, new: Any) -> dict[str, Any]:
    return {"count": table.c.count + new.count}


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
