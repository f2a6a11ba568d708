"""The portal service: its entrypoints, nothing else. Pages, login, the platform's tokens, the gateway."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from chassis.db import Database
from chassis.errors import NotFound
from chassis.health import OpsEndpoints, database_reachable
from chassis.http import api, json_response, read_json
from chassis.metrics import Metrics
from portal import (
    SERVICE,
    apidoc,
    gateway,
    machine,
    pages_account,
    pages_admin,
    pages_certificates,
    pages_member,
    pages_public,
    pages_reports,
    pages_review,
    pages_unit_admin,
    sessions,
)
from portal.front import Front, client_secret
from portal.grants import Acting
from portal.signing import load_private_key_pem
from portal.upstreams import UpstreamUnavailable
from portal.web import CsrfRefused, Page

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parents[1] / "portal" / "assets" / "node_modules"
# Files of pinned npm packages the pages use, served from this process (no CDN).
VENDOR = {
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
}
ALL = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _file(path: Path, cache: str) -> Response:
    if not path.is_file():
        raise NotFound()
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(
        path.read_bytes(),
        content_type=kind + ("; charset=utf-8" if kind.startswith("text") or kind.endswith("javascript") else ""),
    )
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class PortalService(OpsEndpoints):
    name = SERVICE

    config = Config()
    db = Database()
    metrics = Metrics()
    front = Front()

    @staticmethod
    def check_settings() -> None:
        """Outside development the portal starts only with its signing key and provider secret."""
        load_private_key_pem()
        client_secret()

    def _page(self, request: Request, handler: Callable[..., Response], *args: Any) -> Response:
        with self.db.transaction() as session:
            page = Page(request, sessions.load_visitor(session, request), self.front, session)
            try:
                return handler(page, *args)
            except CsrfRefused as exc:
                return page.notice(403, page.t("Không hợp lệ", "Refused"), page.message(exc.body()["error"]))
            except UpstreamUnavailable as exc:
                busy = page.t("Hệ thống đang bận", "Temporarily unavailable")
                return page.notice(503, busy, page.message(exc.body()["error"]))

    # -- operations ---------------------------------------------------------------
    @api("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        ready = database_reachable(self.db)
        body = {"status": "ready" if ready else "not_ready", "checks": {"database": ready}}
        return json_response(body, 200 if ready else 503)

    # -- the platform's tokens ------------------------------------------------------
    @api("GET", "/.well-known/jwks.json")
    def jwks(self, request: Request) -> Response:
        return json_response(self.front.signer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @api("POST", "/oauth/token")
    def oauth_token(self, request: Request) -> Response:
        with self.db.transaction() as session:
            return machine.token_response(session, self.front.signer, request)

    # -- the portal's own API: role grants -----------------------------------------
    def _actor(self, session: Any, request: Request) -> Acting:
        principal = self.front.verifier.verify(request.headers.get("Authorization"))
        unit = self.front.upstreams.unit(principal.unit)
        path = unit["path"] if unit else f"/{principal.unit}/"
        return Acting(principal.sub, principal.role, principal.unit, path)

    @api("GET", "/api/v1/grants")
    def list_grants(self, request: Request) -> Response:
        with self.db.read() as session:
            actor = self._actor(session, request)
            if actor.role in ("unit_admin", "national_admin"):
                grants = pages_admin.grants_in(session, actor.unit_path)
            else:
                grants = sessions.active_grants(session, actor.person)
            return json_response({"items": [pages_admin.grant_dict(g) for g in grants]})

    @api("POST", "/api/v1/grants")
    def create_grant(self, request: Request) -> Response:
        with self.db.transaction() as session:
            actor = self._actor(session, request)
            grant = pages_admin.add_grant(session, self.front.upstreams, actor, read_json(request))
            return json_response(pages_admin.grant_dict(grant), 201)

    @api("DELETE", "/api/v1/grants/<int:grant_id>")
    def delete_grant(self, request: Request, grant_id: int) -> Response:
        with self.db.transaction() as session:
            pages_admin.revoke_grant(session, self._actor(session, request), grant_id)
        return Response(status=204)

    # -- the gateway -----------------------------------------------------------------
    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(apidoc.combined(self.front.upstreams))

    @api(ALL[0], "/api/v1/<path:rest>")
    def proxy_get(self, request: Request, rest: str) -> Response:
        return gateway.proxy(self.front.upstreams, request)

    @api(ALL[1], "/api/v1/<path:rest>")
    def proxy_post(self, request: Request, rest: str) -> Response:
        return gateway.proxy(self.front.upstreams, request)

    @api(ALL[2], "/api/v1/<path:rest>")
    def proxy_put(self, request: Request, rest: str) -> Response:
        return gateway.proxy(self.front.upstreams, request)

    @api(ALL[3], "/api/v1/<path:rest>")
    def proxy_delete(self, request: Request, rest: str) -> Response:
        return gateway.proxy(self.front.upstreams, request)

    @api(ALL[4], "/api/v1/<path:rest>")
    def proxy_patch(self, request: Request, rest: str) -> Response:
        return gateway.proxy(self.front.upstreams, request)

    # Printable certificates
    @api("GET", "/sang-kien/<uuid:initiative_id>/giay-chung-nhan.pdf")
    def certificate_pdf(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_certificates.download, str(initiative_id))

    # -- assets ------------------------------------------------------------------------
    @api("GET", "/static/<string:name>")
    def static(self, request: Request, name: str) -> Response:
        return _file(HERE / "static" / name, "public, max-age=3600")

    @api("GET", "/static/vendor/<string:name>")
    def vendor(self, request: Request, name: str) -> Response:
        if name not in VENDOR:
            raise NotFound()
        return _file(ASSETS / VENDOR[name], "public, max-age=86400, immutable")

    # -- public pages ------------------------------------------------------------------
    @api("GET", "/")
    def home(self, request: Request) -> Response:
        return self._page(request, pages_public.home)

    @api("GET", "/bang-xep-hang")
    def ranking(self, request: Request) -> Response:
        return self._page(request, pages_public.ranking)

    # Reports and ledger
    @api("GET", "/bang-xep-hang/bieu-do.png")
    def ranking_chart(self, request: Request) -> Response:
        return self._page(request, pages_public.ranking_chart)

    @api("GET", "/bao-cao")
    def reports(self, request: Request) -> Response:
        return self._page(request, pages_reports.reports)

    @api("GET", "/bao-cao/tai-ve")
    def report_download(self, request: Request) -> Response:
        return self._page(request, pages_reports.report_download)

    @api("GET", "/bao-cao/du-lieu-mo.csv")
    def open_data(self, request: Request) -> Response:
        return self._page(request, pages_reports.open_data)

    @api("GET", "/bao-cao/so-khen-thuong")
    def ledger(self, request: Request) -> Response:
        return self._page(request, pages_reports.ledger)

    @api("GET", "/bao-cao/so-khen-thuong.csv")
    def ledger_csv(self, request: Request) -> Response:
        return self._page(request, pages_reports.ledger_csv)

    @api("GET", "/chung-nhan")
    def certificate(self, request: Request) -> Response:
        return self._page(request, pages_public.certificate)

    @api("GET", "/api/docs")
    def api_docs(self, request: Request) -> Response:
        return self._page(request, pages_public.api_docs)

    @api("GET", "/ngon-ngu/<string:lang>")
    def language(self, request: Request, lang: str) -> Response:
        return self._page(request, pages_account.language, lang)

    # -- logging in ----------------------------------------------------------------------
    @api("GET", "/dang-nhap")
    def login(self, request: Request) -> Response:
        return self._page(request, pages_account.login)

    @api("GET", "/auth/callback")
    def callback(self, request: Request) -> Response:
        return self._page(request, pages_account.callback)

    @api("POST", "/dang-xuat")
    def logout(self, request: Request) -> Response:
        return self._page(request, pages_account.logout)

    @api("POST", "/vai-tro")
    def switch_role(self, request: Request) -> Response:
        return self._page(request, pages_account.switch_role)

    @api("GET", "/tham-gia")
    def join_form(self, request: Request) -> Response:
        return self._page(request, pages_account.join)

    @api("POST", "/tham-gia")
    def join(self, request: Request) -> Response:
        return self._page(request, pages_account.join)

    # -- members and support teams ------------------------------------------------------------
    @api("GET", "/sang-kien/moi")
    def submit_form(self, request: Request) -> Response:
        return self._page(request, pages_member.submit)

    @api("POST", "/sang-kien/moi")
    def submit(self, request: Request) -> Response:
        return self._page(request, pages_member.submit)

    @api("GET", "/sang-kien")
    def initiatives(self, request: Request) -> Response:
        return self._page(request, pages_member.initiatives)

    @api("GET", "/sang-kien/<uuid:initiative_id>")
    def initiative(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_member.initiative, str(initiative_id))

    @api("POST", "/sang-kien/<uuid:initiative_id>/rut")
    def withdraw(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_member.withdraw, str(initiative_id))

    @api("GET", "/sang-kien/<uuid:initiative_id>/nop-lai")
    def resubmit_form(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_member.resubmit, str(initiative_id))

    @api("POST", "/sang-kien/<uuid:initiative_id>/nop-lai")
    def resubmit(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_member.resubmit, str(initiative_id))

    @api("GET", "/hop-thu")
    def inbox(self, request: Request) -> Response:
        return self._page(request, pages_member.inbox)

    @api("POST", "/hop-thu")
    def inbox_read(self, request: Request) -> Response:
        return self._page(request, pages_member.inbox)

    # -- reviewers and councils -------------------------------------------------------------
    @api("GET", "/tham-dinh")
    def review_queue(self, request: Request) -> Response:
        return self._page(request, pages_review.queue)

    @api("GET", "/tham-dinh/<uuid:initiative_id>")
    def review_file(self, request: Request, initiative_id: Any) -> Response:
        return self._page(request, pages_review.review_file, str(initiative_id))

    @api("POST", "/tham-dinh/<uuid:initiative_id>/<string:action>")
    def review_action(self, request: Request, initiative_id: Any, action: str) -> Response:
        return self._page(request, pages_review.act, str(initiative_id), action)

    @api("GET", "/nhap-file")
    def bulk_form(self, request: Request) -> Response:
        return self._page(request, pages_member.bulk)

    @api("POST", "/nhap-file")
    def bulk(self, request: Request) -> Response:
        return self._page(request, pages_member.bulk)

    @api("GET", "/nhap-file/mau.csv")
    def bulk_template(self, request: Request) -> Response:
        return self._page(request, pages_member.bulk_template)

    # -- unit admins ----------------------------------------------------------------------
    @api("GET", "/quan-tri/vai-tro")
    def staff_form(self, request: Request) -> Response:
        return self._page(request, pages_admin.staff)

    @api("POST", "/quan-tri/vai-tro")
    def staff(self, request: Request) -> Response:
        return self._page(request, pages_admin.staff)

    # Unit admins
    @api("GET", "/quan-tri/chi-tieu")
    def targets_page(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.targets)

    @api("POST", "/quan-tri/chi-tieu")
    def register_target(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.targets)

    @api("GET", "/quan-tri/doan-vien")
    def members_page(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.members)

    @api("GET", "/quan-tri/don-vi")
    def units_page(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.units)

    @api("POST", "/quan-tri/don-vi")
    def add_unit(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.units)

    @api("GET", "/quan-tri/hoi-dong")
    def council_page(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.council)

    @api("POST", "/quan-tri/hoi-dong")
    def change_council(self, request: Request) -> Response:
        return self._page(request, pages_unit_admin.council)
