"""The submission service: its entrypoints, nothing else."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Request, Response

from chassis.consuming import Outcome, handles_batch
from chassis.handler import unit_event_handler
from chassis.http import api, check_size, json_response, read_json
from chassis.service import PlatformService
from submission import SERVICE, bulk, commands, following, openapi, queries, schemas

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


# Built once: constructing a marshmallow schema costs more than dumping with it.
INITIATIVE = schemas.InitiativeOut()  # with its history
INITIATIVE_ITEM = schemas.InitiativeItemOut()  # in lists: status and level, no history
UNIT = schemas.UnitOut()
PROGRAMME = schemas.ProgrammeOut()
TARGET = schemas.TargetOut()
MEMBER = schemas.MemberOut()


class SubmissionService(PlatformService):
    name = SERVICE

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi.document())

    @api("POST", "/api/v1/initiatives")
    def submit_initiative(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        key = request.headers.get("Idempotency-Key")
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    ini, replayed = commands.submit(session, principal, payload, key, key_seen=attempt > 0)
                    body = INITIATIVE.dump(ini)
                break
            except IntegrityError:
                # The key was used before (or by a retry that raced and committed first): its result.
                if not key or attempt:
                    raise
        self.metrics.unit = ini.top_unit
        headers = {"Location": f"/api/v1/initiatives/{ini.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response(body, 201, headers)

    @api("POST", "/api/v1/initiatives/bulk")
    def bulk_import(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        check_size(request, MAX_UPLOAD_BYTES)
        rows = bulk.rows_of_request(request)
        result = bulk.import_rows(self.db.transaction, principal, rows)
        self.metrics.unit = principal.unit
        return json_response(result.as_dict())

    @api("GET", "/api/v1/initiatives/bulk/template.csv")
    def bulk_template(self, request: Request) -> Response:
        headers = {"Content-Disposition": 'attachment; filename="mau-nhap-sang-kien.csv"'}
        return Response(bulk.template_csv(), headers=headers, content_type="text/csv; charset=utf-8")

    @api("GET", "/api/v1/initiatives")
    def list_initiatives(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            items, cursor = queries.list_initiatives(session, principal, request.args)
            body = {"items": INITIATIVE_ITEM.dump(items, many=True), "next_cursor": cursor}
        return json_response(body)

    @api("GET", "/api/v1/initiatives/<uuid:initiative_id>")
    def get_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = INITIATIVE.dump(queries.get_initiative(session, principal, str(initiative_id)))
        return json_response(body)

    @api("POST", "/api/v1/initiatives/<uuid:initiative_id>/withdraw")
    def withdraw_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request) if request.content_length else {}
        with self.db.transaction() as session:
            body = INITIATIVE.dump(commands.withdraw(session, principal, str(initiative_id), payload))
        return json_response(body)

    @api("POST", "/api/v1/initiatives/<uuid:initiative_id>/resubmit")
    def resubmit_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            body = INITIATIVE.dump(commands.resubmit(session, principal, str(initiative_id), payload))
        return json_response(body)

    @api("GET", "/api/v1/units")
    def list_units(self, request: Request) -> Response:
        with self.db.read() as session:
            units, total = queries.list_units(session, request.args)
            body = {"items": UNIT.dump(units, many=True), "total": total}
        return json_response(body)

    @api("POST", "/api/v1/units")
    def register_unit(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            unit, created = commands.register_unit(session, principal, payload)
            body = UNIT.dump(unit)
        return json_response(body, 201 if created else 200)

    @api("GET", "/api/v1/units/<string:code>")
    def get_unit(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(UNIT.dump(queries.get_unit(session, code)))

    @api("GET", "/api/v1/programmes")
    def list_programmes(self, request: Request) -> Response:
        with self.db.read() as session:
            return json_response(PROGRAMME.dump(queries.list_programmes(session), many=True))

    @api("GET", "/api/v1/programmes/<string:code>")
    def get_programme(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(PROGRAMME.dump(queries.get_programme(session, code)))

    @api("GET", "/api/v1/targets")
    def list_targets(self, request: Request) -> Response:
        with self.db.read() as session:
            return json_response(TARGET.dump(queries.list_targets(session, request.args), many=True))

    @api("PUT", "/api/v1/targets")
    def register_target(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            body = TARGET.dump(commands.register_target(session, principal, payload))
        return json_response(body)

    @api("POST", "/api/v1/members")
    def register_member(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            member, created = commands.register_member(session, principal, payload)
            body = MEMBER.dump(member)
        return json_response(body, 201 if created else 200)

    @api("GET", "/api/v1/members")
    def list_members(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            members, total = queries.list_members(session, principal, request.args)
            body = {"items": MEMBER.dump(members, many=True), "total": total}
        return json_response(body)

    @api("GET", "/api/v1/members/<string:member_id>")
    def get_member(self, request: Request, member_id: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(MEMBER.dump(queries.get_member(session, principal, member_id)))

    # The review lifecycle of its initiatives, a batch at a time (following.follow_review; the
    # rules: domain.after_review_step). One queue per event type: they may overtake each other,
    # which the rules allow for.

    @unit_event_handler("review", "review.started")
    @handles_batch(SERVICE)
    def on_review_started(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.scored")
    @handles_batch(SERVICE)
    def on_initiative_scored(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.returned")
    @handles_batch(SERVICE)
    def on_initiative_returned(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.rejected")
    @handles_batch(SERVICE)
    def on_initiative_rejected(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.recognized")
    @handles_batch(SERVICE)
    def on_initiative_recognized(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.nominated")
    @handles_batch(SERVICE)
    def on_initiative_nominated(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())

    @unit_event_handler("review", "review.deadline_missed")
    @handles_batch(SERVICE)
    def on_review_deadline_missed(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return following.follow_review(session, events, commands.now_utc())
