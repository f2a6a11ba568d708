"""The review service: its entrypoints, nothing else.

One codebase, many deployments: `UNIT=HN` runs `review-hn` for Hà Nội's events only;
`UNITS=*` with `UNITS_EXCLUDE=HN` runs the catch-all for every other top-level unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from chassis.config import setting
from chassis.consuming import Outcome, handles_batch
from chassis.handler import unit_event_handler
from chassis.http import api, json_response, read_json
from chassis.service import PlatformService
from review import SERVICE, commands, intake, openapi, queries, schemas, telemetry
from review.deployment import Deployment

REVIEW_FILE = schemas.ReviewFileOut()
QUEUE_PAGE = schemas.QueuePage()
COUNCIL = schemas.CouncilOut()
COUNCIL_MEMBER = schemas.CouncilMemberOut()
CERTIFICATE_CHECK = schemas.CertificateCheckOut()
SWEEP_SECONDS = float(setting("DEADLINE_SWEEP_SECONDS"))

Action = Callable[..., Any]


class ReviewService(PlatformService):
    name = SERVICE
    deployment = Deployment()

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi.document())

    @api("GET", "/api/v1/reviews")
    def work_queue(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            page = queries.work_queue(session, principal, request.args, commands.now_utc())
            return json_response(QUEUE_PAGE.dump(page))

    @api("GET", "/api/v1/reviews/<uuid:initiative_id>")
    def review_file(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = queries.review_file(session, principal, str(initiative_id), commands.now_utc())
            return json_response(REVIEW_FILE.dump(body))

    @api("POST", "/api/v1/reviews/<uuid:initiative_id>/accept")
    def accept(self, request: Request, initiative_id: UUID) -> Response:
        return self._act(request, commands.accept, str(initiative_id))

    @api("POST", "/api/v1/reviews/<uuid:initiative_id>/corrections")
    def request_corrections(self, request: Request, initiative_id: UUID) -> Response:
        return self._act(request, commands.request_corrections, str(initiative_id))

    @api("POST", "/api/v1/reviews/<uuid:initiative_id>/scores")
    def score(self, request: Request, initiative_id: UUID) -> Response:
        return self._act(request, commands.score, str(initiative_id))

    @api("POST", "/api/v1/reviews/<uuid:initiative_id>/decision")
    def decide(self, request: Request, initiative_id: UUID) -> Response:
        return self._act(request, commands.decide, str(initiative_id))

    @api("POST", "/api/v1/reviews/<uuid:initiative_id>/nomination")
    def nominate(self, request: Request, initiative_id: UUID) -> Response:
        return self._act(request, commands.nominate, str(initiative_id))

    @api("GET", "/api/v1/councils/<string:unit>")
    def council(self, request: Request, unit: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(COUNCIL.dump(queries.council(session, principal, unit)))

    @api("PUT", "/api/v1/councils/<string:unit>/members/<string:member_id>")
    def put_council_member(self, request: Request, unit: str, member_id: str) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request) if request.content_length else {}
        queries.check_unit_code(unit)
        queries.check_member_id(member_id)
        self.deployment.check_serves(unit)
        with self.db.transaction() as session:
            member, created = commands.put_council_member(
                session, principal, unit, member_id, payload, commands.now_utc()
            )
            body = COUNCIL_MEMBER.dump(member)
        return json_response(body, 201 if created else 200)

    @api("DELETE", "/api/v1/councils/<string:unit>/members/<string:member_id>")
    def remove_council_member(self, request: Request, unit: str, member_id: str) -> Response:
        principal = self.auth.principal(request)
        queries.check_unit_code(unit)
        queries.check_member_id(member_id)
        self.deployment.check_serves(unit)
        with self.db.transaction() as session:
            commands.remove_council_member(session, principal, unit, member_id, commands.now_utc())
        return Response(status=204)

    @api("GET", "/api/v1/certificates/<string:code>")
    def verify_certificate(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(CERTIFICATE_CHECK.dump(queries.verify_certificate(session, code)))

    @unit_event_handler("submission", "initiative.submitted")
    @handles_batch(SERVICE)
    def on_submitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return intake.receive_batch(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.resubmitted")
    @handles_batch(SERVICE)
    def on_resubmitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return intake.receive_batch(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.withdrawn")
    @handles_batch(SERVICE)
    def on_withdrawn(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return intake.withdraw_batch(session, events, commands.now_utc())

    @timer(interval=SWEEP_SECONDS)
    def sweep_deadlines(self) -> None:
        """Announces missed legal deadlines, then refreshes the backlog gauge."""
        now = commands.now_utc()
        with self.db.transaction() as session:
            missed = commands.sweep_deadlines(session, now)
            telemetry.count_missed(self.deployment.instance, missed)
        with self.db.read() as session:
            telemetry.set_open_items(self.deployment.instance, queries.open_counts(session, now))

    def _act(self, request: Request, action: Action, initiative_id: str) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request) if request.content_length else {}
        now = commands.now_utc()
        with self.db.transaction() as session:
            case = action(session, principal, initiative_id, payload, now)
            self.metrics.unit = case.top_unit
            body = REVIEW_FILE.dump(queries.review_file(session, principal, initiative_id, now))
        return json_response(body)
