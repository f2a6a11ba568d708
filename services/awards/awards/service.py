"""The awards service: its entrypoints, nothing else."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from awards import (
    SERVICE,
    charts,
    commands,
    export,
    openapi,
    projections,
    queries,
    report_render,
    reports,
    schemas,
    telemetry,
)
from awards.caching import RankingCache
from chassis.config import setting
from chassis.consuming import Outcome, handles_batch, handles_each
from chassis.handler import unit_event_handler
from chassis.http import api, json_response, read_json
from chassis.service import PlatformService

RANKING = schemas.RankingOut()
STANDING = schemas.StandingOut()
HISTORY = schemas.HistoryOut()
TARGET = schemas.TargetOut()
LEDGER_PAGE = schemas.LedgerPage()
LEDGER_ENTRY = schemas.LedgerEntryOut()
AWARD_RUN = schemas.AwardRunOut()
CERTIFICATE_CHECK = schemas.CertificateCheckOut()
REPORT = schemas.ReportOut()
DAILY_SECONDS = float(setting("AWARDS_DAILY_SECONDS"))
FOLD_SECONDS = 5.0  # a safety net: consumers fold right after each commit


def fold_after_commit(service: Any) -> None:
    """After a batch commits: adds the nation's rows it staged (projections._stage_national)."""
    projections.fold_safely(service.db.engine)


FOLD = (fold_after_commit,)


class AwardsService(PlatformService):
    name = SERVICE
    rankings_cache = RankingCache()

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi.document())

    @api("GET", "/api/v1/rankings")
    def rankings(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = queries.rankings(session, principal, request.args, commands.now_utc(), self.rankings_cache)
            return json_response(RANKING.dump(body))

    @api("POST", "/api/v1/rankings/snapshots")
    def take_snapshot(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        principal.require(("national_admin", "operator"))
        with self.db.transaction() as session:
            rows = queries.take_snapshot(session, commands.now_utc())
        return json_response({"rows": rows}, 201)

    @api("GET", "/api/v1/standings/<string:unit>")
    def standing(self, request: Request, unit: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(STANDING.dump(queries.standing(session, principal, unit, request.args)))

    @api("GET", "/api/v1/standings/<string:unit>/history")
    def history(self, request: Request, unit: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body = queries.history(session, principal, unit, request.args, commands.now_utc())
            return json_response(HISTORY.dump(body))

    @api("GET", "/api/v1/targets")
    def targets(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(TARGET.dump(queries.targets(session, principal, request.args), many=True))

    @api("GET", "/api/v1/ledger")
    def ledger(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            return json_response(LEDGER_PAGE.dump(queries.ledger(session, principal, request.args)))

    @api("POST", "/api/v1/ledger/<uuid:entry_id>/paid")
    def mark_paid(self, request: Request, entry_id: UUID) -> Response:
        principal = self.auth.principal(request)
        with self.db.transaction() as session:
            entry = queries.mark_paid(session, principal, str(entry_id), commands.now_utc())
            return json_response(LEDGER_ENTRY.dump(entry))

    @api("POST", "/api/v1/award-runs")
    def run_rules(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        payload = read_json(request)
        with self.db.transaction() as session:
            granted = commands.run_rules(session, principal, payload, commands.now_utc())
            body = AWARD_RUN.dump({"granted": granted})
        return json_response(body, 201 if granted else 200)

    @api("GET", "/api/v1/certificates/<string:code>")
    def verify_certificate(self, request: Request, code: str) -> Response:
        with self.db.read() as session:
            return json_response(CERTIFICATE_CHECK.dump(queries.verify_certificate(session, code)))

    @api("GET", "/api/v1/reports/<string:unit>")
    def report(self, request: Request, unit: str) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            body, fmt = reports.for_request(session, principal, unit, request.args, commands.now_utc())
        if fmt == "json":
            return json_response(REPORT.dump(body))
        data = report_render.to_csv(body) if fmt == "csv" else report_render.to_xlsx(body)
        headers = {"Content-Disposition": f'attachment; filename="{report_render.filename(body, fmt)}"'}
        return Response(data, content_type=report_render.CONTENT_TYPES[fmt], headers=headers)

    @api("GET", "/api/v1/charts/progress.png")
    def progress_chart(self, request: Request) -> Response:
        principal = self.auth.principal(request)
        with self.db.read() as session:
            data = charts.progress_png(session, principal, request.args)
        return Response(data, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    @api("GET", "/api/v1/exports/open-data.csv")
    def open_data(self, request: Request) -> Response:
        """Public. Streamed from a connection of its own: the body is sent after the worker has ended."""
        return Response(
            export.primed(self.db.engine, export.programme_arg(request.args)),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{export.FILENAME}"'},
            direct_passthrough=True,
        )

    @unit_event_handler("submission", "initiative.submitted")
    @handles_batch(SERVICE, serialized=True, after_commit=FOLD)
    def on_submitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.initiative_events(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.resubmitted")
    @handles_batch(SERVICE, serialized=True, after_commit=FOLD)
    def on_resubmitted(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.initiative_events(session, events, commands.now_utc())

    @unit_event_handler("submission", "initiative.withdrawn")
    @handles_batch(SERVICE, serialized=True, after_commit=FOLD)
    def on_withdrawn(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.initiative_events(session, events, commands.now_utc())

    @unit_event_handler("review", "initiative.recognized")
    @handles_batch(SERVICE, serialized=True, after_commit=FOLD)
    def on_recognized(self, session: Any, events: list[dict[str, Any]]) -> list[Outcome]:
        return commands.initiative_events(session, events, commands.now_utc())

    @unit_event_handler("submission", "unit.registered")
    @handles_each(SERVICE, serialized=True)
    def on_unit(self, session: Any, event: dict[str, Any]) -> None:
        projections.on_unit(session, event["data"])

    @unit_event_handler("submission", "target.registered")
    @handles_each(SERVICE, serialized=True)
    def on_target(self, session: Any, event: dict[str, Any]) -> None:
        projections.on_target(session, event["data"])

    @unit_event_handler("submission", "member.registered")
    @handles_each(SERVICE, serialized=True)
    def on_member(self, session: Any, event: dict[str, Any]) -> None:
        projections.on_member(session, event["data"])

    @timer(interval=FOLD_SECONDS)
    def fold_national(self) -> None:
        """Folds in the nation's rows a consumer committed but could not fold (it died, or the database blinked)."""
        projections.fold(self.db.engine)

    @timer(interval=DAILY_SECONDS)
    def daily(self) -> None:
        """Due installments, rules of ended periods, the 7:00 snapshot; then the business gauges."""
        now = commands.now_utc()
        with self.db.transaction() as session:
            commands.daily(session, now)
        with self.db.read() as session:
            telemetry.refresh(session)
