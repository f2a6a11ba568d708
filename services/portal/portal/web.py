"""What every page handler shares: who is here, their language, rendering, redirects, CSRF."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlparse

from sqlalchemy.orm import Session
from werkzeug.wrappers import Request, Response

from chassis.errors import ApiError
from portal.front import Front
from portal.sessions import LANG_COOKIE, Visitor
from portal.upstreams import Answer

# A Content-Security-Policy that forbids inline scripts and any other origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self' {idp}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


class CsrfRefused(ApiError):
    status, code = 403, "csrf"
    message_vi = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại."
    message_en = "The form has expired or is not valid. Reload the page and try again."


NOT_FOR_THIS_ROLE = (
    "Vai trò hiện tại của bạn không dùng được trang này. Hãy đổi vai trò ở đầu trang.",
    "Your current role cannot use this page. Switch roles at the top of the page.",
)


@dataclass
class Page:
    """One page request: the request, the visitor, the portal's equipment, its database session."""

    request: Request
    visitor: Visitor
    front: Front
    db: Session
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return "en" if self.request.cookies.get(LANG_COOKIE) == "en" else "vi"

    def t(self, vi: str, en: str) -> str:
        return en if self.lang == "en" else vi

    def message(self, error: dict[str, Any]) -> str:
        return str(error.get("message_en" if self.lang == "en" else "message_vi") or error.get("message_en") or "")

    def field_errors(self, error: dict[str, Any]) -> dict[str, list[str]]:
        fields = error.get("fields" if self.lang == "en" else "fields_vi") or error.get("fields") or {}
        return {k: list(v) for k, v in fields.items()}

    @property
    def token(self) -> str | None:
        if self.visitor.person is None or self.visitor.active is None:
            return None
        return self.front.token_for(self.visitor.person.id, self.visitor.active)

    def api(self, service: str, method: str, path: str, **kwargs: Any) -> Answer:
        return self.front.upstreams.call(service, method, path, self.token, **kwargs)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        unread = context.pop("unread", None)
        body = self.front.templates.get_template(template).render(
            t=self.t,
            lang=self.lang,
            visitor=self.visitor,
            csrf=self.visitor.session.csrf if self.visitor.session else "",
            path=self.request.full_path.rstrip("?"),
            unread=unread,
            **context,
        )
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        idp = urlparse(self.front.provider.issuer)
        response.headers["Content-Security-Policy"] = CSP.format(idp=f"{idp.scheme}://{idp.netloc}")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def notice(self, status: int, title: str, text: str, link: tuple[str, str] | None = None) -> Response:
        """A page that only says something: a refusal, something missing, a failed login."""
        return self.render("message.html", status=status, title=title, text=text, link=link)

    def refused(self, answer: Answer, title: str, link: tuple[str, str] | None = None) -> Response:
        """A service's refusal as a page: its status, and its own bilingual message."""
        return self.notice(answer.status, title, self.message(answer.error()), link)

    def gate(self, roles: Iterable[str], why: tuple[str, str] = NOT_FOR_THIS_ROLE) -> Response | None:
        """None when the visitor's active role may use the page; else the login, the join page
        (no role at all yet) or a 403 saying why, in the visitor's language."""
        if not self.visitor.logged_in:
            return self.login_redirect()
        if self.visitor.role in roles:
            return None
        if not self.visitor.grants:
            return self.redirect("/tham-gia")
        return self.notice(403, self.t("Không có quyền", "Not allowed"), self.t(*why))

    def redirect(self, location: str, status: int = 303) -> Response:
        response = Response(status=status, headers={"Location": location})
        return self.finish(response)

    def login_redirect(self) -> Response:
        return self.redirect(f"/dang-nhap?next={quote(self.request.full_path.rstrip('?'), safe='')}")

    def check_csrf(self) -> None:
        if not self.visitor.csrf_ok(self.request.form.get("csrf_token")):
            raise CsrfRefused()


def safe_next(value: str | None) -> str:
    """Only a path on this site: `//evil` or `https://evil` would send the person away."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]
