"""The submission service: its entrypoints, nothing else."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from nameko.dependency_providers import Config
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Request, Response

from chassis.db import Database
from chassis.errors import UnsupportedMediaType
from chassis.handler import unit_event_handler
from chassis.health import OpsEndpoints
from chassis.http import Auth, api, check_size, json_response, read_json
from chassis.inbox import idempotent
from chassis.metrics import Metrics
from chassis.relay_runner import OutboxRelayRunner
from chassis.validation import FieldError, validation_failed
from submission import SERVICE, bulk, commands, openapi, queries, schemas

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


# Built once: constructing a marshmallow schema costs more than dumping with it.
INITIATIVE = schemas.InitiativeOut()
UNIT = schemas.UnitOut()
PROGRAMME = schemas.ProgrammeOut()
TARGET = schemas.TargetOut()
MEMBER = schemas.MemberOut()


def _dump(schema: Any, obj: Any, many: bool = False) -> Any:
    return schema.dump(obj, many=many)


class SubmissionService(OpsEndpoints):
    name = SERVICE

    config = Config()
    db = Database()
    auth = Auth()
    metrics = Metrics()
    relay = OutboxRelayRunner()

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi.document())

    @api("POST", "/api/v1/initiatives")
    def submit_initiative(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        key = request.headers.get("Idempotency-Key")
        try:
            with self.db.transaction() as session:
                ini, replayed = commands.submit(session, principal, payload, key)
                body = _dump(INITIATIVE, ini)
        except IntegrityError:
            if not key:
                raise
            # The same key raced in from a retry: the first commit won, answer with it.
            with self.db.transaction() as session:
                ini, replayed = commands.submit(session, principal, payload, key)
                body = _dump(INITIATIVE, ini)
        self.metrics.unit = ini.top_unit
        headers = {"Location": f"/api/v1/initiatives/{ini.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response(body, 201, headers)

    @api("POST", "/api/v1/initiatives/bulk")
    def bulk_import(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        check_size(request, MAX_UPLOAD_BYTES)
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                missing = FieldError("file", "Attach the CSV or XLSX file here.", "Hãy đính kèm tệp CSV hoặc XLSX.")
                raise validation_failed([missing])
            stream, filename, mimetype = upload.stream, upload.filename or "", upload.mimetype
        elif request.mimetype in ("text/csv", *bulk.XLSX_TYPES):
            stream, filename, mimetype = request.stream, "", request.mimetype
        else:
            raise UnsupportedMediaType(
                "Upload a CSV or XLSX file (multipart/form-data, text/csv or XLSX).",
                "Hãy tải lên tệp CSV hoặc XLSX.",
            )
        if mimetype in bulk.XLSX_TYPES or filename.lower().endswith(".xlsx"):
            stream = _seekable(stream)
        result = bulk.import_rows(self.db.transaction, principal, bulk.rows_of(stream, filename, mimetype))
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
            body = {"items": _dump(INITIATIVE, items, many=True), "next_cursor": cursor}
        return json_response(body)

    @api("GET", "/api/v1/initiatives/<uuid:initiative_id>")
    def get_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = _dump(INITIATIVE, queries.get_initiative(session, principal, str(initiative_id)))
        return json_response(body)

    @api("POST", "/api/v1/initiatives/<uuid:initiative_id>/withdraw")
    def withdraw_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request) if request.content_length else {}
        with self.db.transaction() as session:
            body = _dump(INITIATIVE, commands.withdraw(session, principal, str(initiative_id), payload))
        return json_response(body)

    @api("POST", "/api/v1/initiatives/<uuid:initiative_id>/resubmit")
    def resubmit_initiative(self, request: Request, initiative_id: UUID) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            body = _dump(INITIATIVE, commands.resubmit(session, principal, str(initiative_id), payload))
        return json_response(body)

    @api("GET", "/api/v1/units")
    def list_units(self, request: Request) -> Response:
        with self.db.read() as session:
            units, total = queries.list_units(session, request.args)
            body = {"items": _dump(UNIT, units, many=True), "total": total}
        return json_response(body)

    @api("POST", "/api/v1/units")
    def register_unit(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            unit, created = commands.register_unit(session, principal, payload)
            body = _dump(UNIT, unit)
        return json_response(body, 201 if created else 200)

    @api("GET", "/api/v1/units/<string:code>")
    def get_unit(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(_dump(UNIT, queries.get_unit(session, code)))

    @api("GET", "/api/v1/programmes")
    def list_programmes(self, request: Request) -> Response:
        with self.db.read() as session:
            return json_response(_dump(PROGRAMME, queries.list_programmes(session), many=True))

    @api("GET", "/api/v1/programmes/<string:code>")
    def get_programme(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(_dump(PROGRAMME, queries.get_programme(session, code)))

    @api("GET", "/api/v1/targets")
    def list_targets(self, request: Request) -> Response:
        with self.db.read() as session:
            return json_response(_dump(TARGET, queries.list_targets(session, request.args), many=True))

    @api("PUT", "/api/v1/targets")
    def register_target(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            body = _dump(TARGET, commands.register_target(session, principal, payload))
        return json_response(body)

    @api("POST", "/api/v1/members")
    def register_member(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            member, created = commands.register_member(session, principal, payload)
            body = _dump(MEMBER, member)
        return json_response(body, 201 if created else 200)

    @api("GET", "/api/v1/members")
    def list_members(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            members, total = queries.list_members(session, principal, request.args)
            body = {"items": _dump(MEMBER, members, many=True), "total": total}
        return json_response(body)

    @api("GET", "/api/v1/members/<string:member_id>")
    def get_member(self, request: Request, member_id: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(_dump(MEMBER, queries.get_member(session, principal, member_id)))

    @unit_event_handler("review", "initiative.returned")
    @idempotent(SERVICE)
    def on_initiative_returned(self, session: Any, event: dict[str, Any]) -> None:
        commands.mark_returned(session, event["data"])


def _seekable(stream: Any) -> Any:
    """openpyxl needs to seek; a raw request stream is spooled to a temporary file first."""
    if getattr(stream, "seekable", lambda: False)():
        return stream
    import shutil
    import tempfile

    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned open
    shutil.copyfileobj(stream, spooled)
    spooled.seek(0)
    return spooled
