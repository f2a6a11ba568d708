"""Logging in and out, switching roles, choosing a language, joining a grassroots union."""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import timedelta

from sqlalchemy import delete

from portal import sessions
from portal.models import Grant, LoginAttempt, Person
from portal.oidc import LoginFailed
from portal.sessions import LOGIN_COOKIE, now
from portal.settings import portal_setting
from portal.web import Page, safe_next

log = logging.getLogger(__name__)
LOGIN_MINUTES = 15


def login(page: Page) -> Response:  # noqa: F821 - werkzeug Response, see web.Page
    url, state, verifier, nonce = page.front.provider.authorization_request()
    page.db.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now() - timedelta(minutes=LOGIN_MINUTES)))
    next_url = safe_next(page.request.args.get("next"))
    page.db.add(LoginAttempt(state=state, code_verifier=verifier, nonce=nonce, next_url=next_url, created_at=now()))
    response = page.redirect(url, 302)
    # Binds the answer to this browser: a callback with another browser's state is refused.
    sessions.set_cookie(response, LOGIN_COOKIE, state, page.front.secure_cookies, max_age=LOGIN_MINUTES * 60)
    return response


def callback(page: Page):  # type: ignore[no-untyped-def]
    args = page.request.args
    state = args.get("state", "")
    if args.get("error"):
        return _failed(page, f"provider said {args.get('error')}")
    if not state or state != page.request.cookies.get(LOGIN_COOKIE):
        return _failed(page, "state does not match this browser")
    attempt = page.db.get(LoginAttempt, state)
    if attempt is None or attempt.created_at < now() - timedelta(minutes=LOGIN_MINUTES):
        return _failed(page, "unknown or expired login attempt")
    page.db.delete(attempt)
    try:
        claims, id_token = page.front.provider.finish(args.get("code", ""), attempt.code_verifier, attempt.nonce)
    except LoginFailed as exc:
        return _failed(page, str(exc))
    person = page.db.get(Person, str(claims["sub"]))
    if person is None:
        person = Person(id=str(claims["sub"]), created_at=now(), last_login_at=now())
        page.db.add(person)
    person.name = str(claims.get("name") or claims.get("preferred_username") or person.name or "")[:200]
    person.email = claims.get("email") or person.email
    person.last_login_at = now()
    page.db.flush()
    raw, _ = sessions.start(page.db, person, id_token, int(portal_setting("PORTAL_SESSION_HOURS")))
    has_grants = bool(sessions.active_grants(page.db, person.id))
    response = page.redirect(attempt.next_url if has_grants or attempt.next_url != "/" else "/tham-gia")
    sessions.set_cookie(response, sessions.COOKIE, raw, page.front.secure_cookies)
    sessions.clear_cookie(response, LOGIN_COOKIE, page.front.secure_cookies)
    return response


def _failed(page: Page, why: str):  # type: ignore[no-untyped-def]
    log.warning("login refused: %s", why)
    return page.notice(
        status=400,
        title=page.t("Đăng nhập không thành công", "Login failed"),
        text=page.t(
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Hãy đăng nhập lại.",
            "The login was not valid or has expired. Please log in again.",
        ),
        link=("/dang-nhap", page.t("Đăng nhập lại", "Log in again")),
    )


def logout(page: Page):  # type: ignore[no-untyped-def]
    page.check_csrf()
    id_token = page.visitor.session.id_token if page.visitor.session else None
    if page.visitor.person:
        page.front.forget_tokens(page.visitor.person.id)
    sessions.end(page.db, page.visitor)
    after = page.front.public_url + "/"
    try:
        target = page.front.provider.logout_url(id_token, after) or "/"
    except Exception:  # noqa: BLE001 - the provider being down must not keep anyone logged in here
        target = "/"
    response = page.redirect(target)
    sessions.clear_cookie(response, sessions.COOKIE, page.front.secure_cookies)
    return response


def switch_role(page: Page):  # type: ignore[no-untyped-def]
    if not page.visitor.logged_in:
        return page.login_redirect()
    page.check_csrf()
    wanted = page.request.form.get("grant_id", "")
    grant = next((g for g in page.visitor.grants if str(g.id) == wanted), None)
    if grant is not None and page.visitor.session is not None:
        page.visitor.session.grant_id = grant.id
    return page.redirect(safe_next(page.request.form.get("next")))


def language(page: Page, lang: str):  # type: ignore[no-untyped-def]
    response = page.redirect(safe_next(page.request.args.get("next")))
    response.set_cookie(sessions.LANG_COOKIE, "en" if lang == "en" else "vi", max_age=365 * 86400, samesite="Lax")
    return response


def _plain(text: str) -> str:
    """Accents and case folded: "Hà Nội" matches "ha noi"."""
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c)).lower()


def _member_id(person: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _plain(person)).strip("-")[:60] or "doan-vien"
    return f"dv-{slug}"


def join(page: Page):  # type: ignore[no-untyped-def]
    """A person links themselves to a grassroots union: the membership submission knows, and a grant."""
    if not page.visitor.logged_in:
        return page.login_redirect()
    assert page.visitor.person is not None
    args = page.request.form if page.request.method == "POST" else page.request.args
    tops = page.front.upstreams.call("submission", "GET", "/api/v1/units", params={"level": "top"}).json() or {}
    top = args.get("top", "")
    query = args.get("q", "").strip()
    units: list[dict] = []
    if top:
        found = page.front.upstreams.call(
            "submission", "GET", "/api/v1/units", params={"top": top, "level": "grassroots", "limit": 5000}
        )
        units = (found.json() or {}).get("items", []) if found.ok else []
        if query:
            units = [u for u in units if _plain(query) in _plain(f"{u['name']} {u['code']}")]
    errors: dict[str, list[str]] = {}
    summary = ""
    form = {
        "full_name": args.get("full_name", page.visitor.person.name),
        "unit": args.get("unit", ""),
        "phone": args.get("phone", ""),
        "email": args.get("email", page.visitor.person.email or ""),
    }
    if page.request.method == "POST" and page.request.form.get("action") == "join":
        page.check_csrf()
        member_id = _member_id(page.visitor.person.id)
        payload = {
            "member_id": member_id,
            "full_name": form["full_name"].strip(),
            "unit": form["unit"],
            "phone": form["phone"].strip() or None,
            "email": form["email"].strip() or None,
        }
        if not payload["unit"]:
            errors["unit"] = [page.t("Hãy chọn công đoàn cơ sở của bạn.", "Choose your grassroots union.")]
        else:
            unit_info = page.front.upstreams.unit(payload["unit"])
            if unit_info is None:
                errors["unit"] = [page.t("Không tìm thấy đơn vị.", "No such unit.")]
        if not errors:
            # The membership is registered as the person themselves: a member token for that unit.
            token, _ = page.front.signer.token(member_id, "member", payload["unit"])
            answer = page.front.upstreams.call("submission", "POST", "/api/v1/members", token, json_body=payload)
            if answer.ok:
                assert unit_info is not None
                page.visitor.person.name = payload["full_name"]  # the name the union knows them by
                page.db.add(
                    Grant(
                        person=page.visitor.person.id,
                        role="member",
                        unit=payload["unit"],
                        unit_path=unit_info["path"],
                        member_id=member_id,
                        granted_by=page.visitor.person.id,
                        granted_at=now(),
                    )
                )
                page.db.flush()
                if page.visitor.session is not None:
                    page.visitor.session.grant_id = None  # the new membership becomes the active role
                    grant = page.db.query(Grant).filter_by(person=page.visitor.person.id, member_id=member_id).first()
                    page.visitor.session.grant_id = grant.id if grant else None
                return page.redirect("/sang-kien/moi?joined=1")
            error = answer.error()
            summary = page.message(error)
            errors = page.field_errors(error)
    return page.render(
        "join.html",
        tops=tops.get("items", []),
        top=top,
        q=query,
        units=units[:200],
        more=max(0, len(units) - 200),
        form=form,
        errors=errors,
        summary=summary,
    )
