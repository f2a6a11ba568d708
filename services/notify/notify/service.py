"""The notify service: its entrypoints, nothing else."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from chassis.config import setting
from chassis.consuming import Outcome, handles_batch
from chassis.handler import unit_event_handler
from chassis.http import api, json_response, read_json
from chassis.service import PlatformService
from notify import SERVICE, commands, dispatch, openapi, queries, schemas
from notify.dispatcher import Dispatcher

INBOX = schemas.InboxPage()
PREFERENCES = schemas.PreferencesOut()
SUBSCRIPTION = schemas.SubscriptionOut()
DELIVERY = schemas.DeliveryOut()
DELIVERIES = schemas.DeliveryPage()
SWEEP_SECONDS = float(setting("NOTIFY_SWEEP_SECONDS"))


class NotifyService(PlatformService):
    name = SERVICE
    dispatcher = Dispatcher()

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi.document())

    @api("GET", "/api/v1/inbox")
    def inbox(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(INBOX.dump(queries.inbox(session, principal, request.args)))

    @api("POST", "/api/v1/inbox/<uuid:message_id>/read")
    def mark_read(self, request: Request, message_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.transaction() as session:
            queries.mark_read(session, principal, str(message_id), commands.now_utc())
        return Response(status=204)

    @api("POST", "/api/v1/inbox/read-all")
    def mark_all_read(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.transaction() as session:
            marked = queries.mark_read(session, principal, None, commands.now_utc())
        return json_response({"marked": marked})

    @api("GET", "/api/v1/preferences")
    def preferences(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = queries.preferences(session, principal, request.args.get("mailbox"))
            return json_response(PREFERENCES.dump(body))

    @api("PUT", "/api/v1/preferences")
    def set_preferences(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            body = queries.set_preferences(session, principal, request.args.get("mailbox"), payload, commands.now_utc())
            return json_response(PREFERENCES.dump(body))

    @api("POST", "/api/v1/webhooks")
    def subscribe(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            allow_private = str(self.config.get("WEBHOOK_ALLOW_PRIVATE", setting("WEBHOOK_ALLOW_PRIVATE"))) == "on"
            subscription = queries.subscribe(session, principal, payload, commands.now_utc(), allow_private)
            body = SUBSCRIPTION.dump(subscription)
        return json_response(body, 201)

    @api("GET", "/api/v1/webhooks")
    def subscriptions(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(SUBSCRIPTION.dump(queries.subscriptions(session, principal), many=True))

    @api("POST", "/api/v1/webhooks/<uuid:subscription_id>/disable")
    def disable(self, request: Request, subscription_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.transaction() as session:
            return json_response(SUBSCRIPTION.dump(queries.disable(session, principal, str(subscription_id))))

    @api("GET", "/api/v1/webhooks/<uuid:subscription_id>/deliveries")
    def webhook_deliveries(self, request: Request, subscription_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = queries.deliveries(session, principal, request.args, str(subscription_id))
            return json_response(DELIVERIES.dump(body))

    @api("GET", "/api/v1/deliveries")
    def all_deliveries(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(DELIVERIES.dump(queries.deliveries(session, principal, request.args, None)))

    @api("POST", "/api/v1/deliveries/<uuid:delivery_id>/replay")
    def replay(self, request: Request, delivery_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.transaction() as session:
            body = DELIVERY.dump(queries.replay(session, principal, str(delivery_id), commands.now_utc()))
        return json_response(body)

    @unit_event_handler("submission", "initiative.submitted")
    @handles_batch(SERVICE)
    def on_submitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.resubmitted")
    @handles_batch(SERVICE)
    def on_resubmitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.withdrawn")
    @handles_batch(SERVICE)
    def on_withdrawn(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "review.started")
    @handles_batch(SERVICE)
    def on_review_started(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.returned")
    @handles_batch(SERVICE)
    def on_returned(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.rejected")
    @handles_batch(SERVICE)
    def on_rejected(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.recognized")
    @handles_batch(SERVICE)
    def on_recognized(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.nominated")
    @handles_batch(SERVICE)
    def on_nominated(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("review", "review.deadline_missed")
    @handles_batch(SERVICE)
    def on_deadline_missed(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("awards", "award.granted")
    @handles_batch(SERVICE)
    def on_award(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("awards", "remuneration.scheduled")
    @handles_batch(SERVICE)
    def on_remuneration_scheduled(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @unit_event_handler("awards", "remuneration.due")
    @handles_batch(SERVICE)
    def on_remuneration_due(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.handle_batch(session, events, commands.now_utc())

    @timer(interval=SWEEP_SECONDS)
    def sweep(self) -> None:
        """Deadline reminders and the day's digests; then the pending gauge."""
        now = commands.now_utc()
        with self.db.transaction() as session:
            commands.send_reminders(session, now)
        with self.db.transaction() as session:
            commands.send_digests(session, now)
        with self.db.read() as session:
            for channel, n in dispatch.pending_counts(session).items():
                dispatch.PENDING.labels(channel).set(n)
