#!/usr/bin/env python3
"""End-to-end check of the local OpenID Connect provider, as the portal uses it.

    python3 services/portal/idp/selftest.py http://127.0.0.1:9400

Discovery; the authorization code flow with PKCE (authorize, our login form, its cookies, the
redirects up to the portal's redirect_uri, whose ?code= is captured, not followed); the token
exchange with the client secret (basic and post) and the code_verifier; the ID token's claims;
userinfo; refusals (wrong password, unknown login, empty form, no PKCE, wrong verifier, a code
used twice, wrong client secret); RP-initiated logout. Needs python3 and requests only (the ID
token's signature is checked too when PyJWT with cryptography is importable). Exits 0 when all
is well, 1 with the first failure otherwise.

Environment (defaults as server.mjs): PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET,
PORTAL_REDIRECT_URIS (first one used), PORTAL_POST_LOGOUT_REDIRECT_URIS (first one used),
SELFTEST_LOGIN / SELFTEST_PASSWORD (default member / sangkien).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

CLIENT_ID = os.environ.get("PORTAL_CLIENT_ID", "portal")
CLIENT_SECRET = os.environ.get("PORTAL_CLIENT_SECRET", "portal-dev-secret")
REDIRECT_URI = os.environ.get("PORTAL_REDIRECT_URIS", "http://127.0.0.1:8080/auth/callback").split(",")[0].strip()
AFTER_LOGOUT = os.environ.get("PORTAL_POST_LOGOUT_REDIRECT_URIS", "http://127.0.0.1:8080/").split(",")[0].strip()
LOGIN = os.environ.get("SELFTEST_LOGIN", "member")
PASSWORD = os.environ.get("SELFTEST_PASSWORD", "sangkien")
TIMEOUT = 10


class Failed(Exception):
    """A step of the flow did not go as the provider promises."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def pkce() -> tuple[str, str]:
    verifier = b64url(secrets.token_bytes(48))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def follow(session: requests.Session, url: str, *, stop_at: str, limit: int = 10) -> requests.Response:
    """GETs url and its redirects, by hand, until a redirect points at stop_at or a page answers."""
    for _ in range(limit):
        answer = session.get(url, allow_redirects=False, timeout=TIMEOUT)
        location = answer.headers.get("Location")
        if answer.status_code not in (301, 302, 303, 307, 308) or not location:
            return answer
        url = urljoin(url, location)
        if url.startswith(stop_at):
            answer.url = url  # the redirect we were waiting for, not followed
            return answer
    raise Failed(f"too many redirects from {url}")


def form_action(page: str, base: str) -> str:
    found = re.search(r'<form[^>]*\baction="([^"]+)"', page)
    check(found, "no <form action> on the login page")
    return urljoin(base, html.unescape(found.group(1)))


def authorize_url(meta: dict, challenge: str | None, state: str, nonce: str) -> str:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{meta['authorization_endpoint']}?{urlencode(params)}"


def open_login_page(session: requests.Session, meta: dict, challenge: str, state: str, nonce: str) -> requests.Response:
    page = follow(session, authorize_url(meta, challenge, state, nonce), stop_at=REDIRECT_URI)
    check(page.status_code == 200, f"login page: HTTP {page.status_code} at {page.url}: {page.text[:300]}")
    check("/interaction/" in page.url, f"login page not at /interaction/: {page.url}")
    return page


def log_in(session: requests.Session, page: requests.Response, login: str, password: str) -> requests.Response:
    return session.post(
        form_action(page.text, page.url),
        data={"login": login, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def code_from(answer: requests.Response, session: requests.Session, state: str, issuer: str) -> str:
    """After a successful login POST: follows to the redirect_uri and returns its code."""
    check(answer.status_code in (302, 303), f"login POST: HTTP {answer.status_code}: {answer.text[:300]}")
    back = follow(session, urljoin(answer.url, answer.headers["Location"]), stop_at=REDIRECT_URI)
    check(
        back.url.startswith(REDIRECT_URI + "?"), f"did not come back to {REDIRECT_URI}: {back.status_code} {back.url}"
    )
    query = parse_qs(urlsplit(back.url).query)
    check("error" not in query, f"authorization error: {query}")
    check(query.get("state") == [state], f"state changed: {query.get('state')}")
    check(query.get("iss") == [issuer], f"iss parameter: {query.get('iss')}")
    check(query.get("code"), f"no code in {back.url}")
    return query["code"][0]


def exchange(
    meta: dict, code: str, verifier: str, *, post: bool = False, secret: str = CLIENT_SECRET
) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    if post:
        return requests.post(
            meta["token_endpoint"], data=data | {"client_id": CLIENT_ID, "client_secret": secret}, timeout=TIMEOUT
        )
    return requests.post(meta["token_endpoint"], data=data, auth=(CLIENT_ID, secret), timeout=TIMEOUT)


def verify_signature(meta: dict, id_token: str) -> str:
    try:
        import jwt  # PyJWT, when there
    except ImportError:
        return "signature not checked (no PyJWT)"
    try:
        key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(id_token).key
        jwt.decode(id_token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=meta["issuer"])
    except jwt.PyJWKClientError as exc:  # e.g. no cryptography
        return f"signature not checked ({exc})"
    return "signature verified"


def run(base: str) -> None:
    base = base.rstrip("/")
    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    issuer = meta["issuer"]
    check(issuer == base, f"issuer {issuer} is not {base}")
    check(meta.get("code_challenge_methods_supported") == ["S256"], "PKCE methods are not just S256")
    check("end_session_endpoint" in meta, "no end_session_endpoint")
    check({"openid", "profile", "email"} <= set(meta.get("scopes_supported", [])), "scopes missing")
    print(f"ok  discovery: issuer {issuer}")

    # Login page, then a wrong password, then the right one.
    session = requests.Session()
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    page = open_login_page(session, meta, challenge, state, nonce)
    text = page.text
    check('lang="vi"' in text, "login page is not lang=vi")
    check('name="viewport"' in text, "no meta viewport")
    check('<label for="login">Tên đăng nhập</label>' in text, "no label for login")
    check('<label for="password">Mật khẩu</label>' in text, "no label for password")
    check(
        'id="login" name="login"' in text and 'id="password" name="password"' in text, "inputs not named login/password"
    )
    check(re.search(r'<button type="submit">Đăng nhập</button>', text), "no 'Đăng nhập' submit button")
    check("<script" not in text.lower(), "script on the login page")
    check(
        not re.search(r'\b(src|href)="https?://(?!127\.0\.0\.1|localhost)', text) and "@import" not in text,
        "external resource",
    )
    csp = page.headers.get("Content-Security-Policy", "")
    check("default-src 'none'" in csp and "script-src" not in csp, f"CSP: {csp}")
    check(page.headers.get("Cache-Control") == "no-store", "login page is cacheable")
    print(f"ok  login page {urlsplit(page.url).path} (lang=vi, labels, no script, CSP)")

    for login, password, what in ((LOGIN, PASSWORD + "x", "wrong password"), ("nobody", PASSWORD, "unknown login")):
        refused = log_in(session, page, login, password)
        check(
            refused.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in refused.text,
            f"{what} not refused: {refused.status_code}",
        )
        check("Location" not in refused.headers, f"{what} redirected")
        if login == LOGIN:
            check(f'value="{LOGIN}"' in refused.text, "the form forgot the login typed")
        print(f"ok  {what} refused with the form again")
    empty = log_in(session, page, "", "")
    check("Nhập tên đăng nhập" in empty.text and "Nhập mật khẩu" in empty.text, "empty form not explained")
    print("ok  empty form refused, each field explained")

    answer = log_in(session, page, LOGIN, PASSWORD)
    code = code_from(answer, session, state, issuer)
    print(f"ok  login; back at {REDIRECT_URI} with a code (no consent screen)")

    bad = exchange(meta, code, pkce()[0])
    check(
        bad.status_code == 400 and bad.json().get("error") == "invalid_grant",
        f"wrong code_verifier accepted: {bad.status_code} {bad.text}",
    )
    print("ok  wrong code_verifier refused (and the code is spent)")

    # A new login for the real exchange (the code above is consumed by the failed attempt).
    session = requests.Session()
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    page = open_login_page(session, meta, challenge, state, nonce)
    code = code_from(log_in(session, page, LOGIN, PASSWORD), session, state, issuer)

    wrong_secret = exchange(meta, code, verifier, secret="not-the-secret")
    check(
        wrong_secret.status_code == 401 and wrong_secret.json().get("error") == "invalid_client",
        f"wrong secret: {wrong_secret.status_code}",
    )
    tokens = exchange(meta, code, verifier)
    check(tokens.status_code == 200, f"token exchange: {tokens.status_code} {tokens.text}")
    tokens = tokens.json()
    check(tokens.get("token_type", "").lower() == "bearer" and tokens.get("access_token"), f"tokens: {tokens}")
    claims = jwt_payload(tokens["id_token"])
    check(claims["iss"] == issuer and claims["aud"] == CLIENT_ID, f"iss/aud: {claims}")
    check(claims["nonce"] == nonce, "nonce changed")
    check(claims.get("sub") and claims.get("preferred_username") == LOGIN, f"sub/preferred_username: {claims}")
    for claim in ("name", "email", "email_verified", "preferred_username"):
        check(claim in claims, f"id_token has no {claim}: {claims}")
    check(not {"role", "roles", "groups", "unit"} & set(claims), f"roles in the id_token: {claims}")
    print(
        f"ok  token exchange (client_secret_basic + code_verifier): id_token for {claims['sub']} "
        f"({claims['name']}, {claims['email']}); {verify_signature(meta, tokens['id_token'])}"
    )
    print("ok  wrong client secret refused")

    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = requests.get(meta["userinfo_endpoint"], headers=bearer, timeout=TIMEOUT)
    check(me.status_code == 200 and me.json().get("sub") == claims["sub"], f"userinfo: {me.status_code} {me.text}")
    print(f"ok  userinfo: {me.json()}")

    again = exchange(meta, code, verifier)
    check(
        again.status_code == 400 and again.json().get("error") == "invalid_grant", f"code reused: {again.status_code}"
    )
    revoked = requests.get(meta["userinfo_endpoint"], headers=bearer, timeout=TIMEOUT)
    check(revoked.status_code == 401, f"access token still valid after the code was replayed: {revoked.status_code}")
    print("ok  code cannot be used twice (and its replay revokes the tokens it gave)")

    # Single sign-on: the same browser session gets a new code without the form; client_secret_post.
    verifier2, challenge2 = pkce()
    state2 = secrets.token_urlsafe(16)
    back = follow(session, authorize_url(meta, challenge2, state2, secrets.token_urlsafe(8)), stop_at=REDIRECT_URI)
    check(back.url.startswith(REDIRECT_URI + "?"), f"no single sign-on: {back.status_code} {back.url}")
    code2 = parse_qs(urlsplit(back.url).query)["code"][0]
    posted = exchange(meta, code2, verifier2, post=True)
    check(
        posted.status_code == 200 and "id_token" in posted.json(),
        f"client_secret_post: {posted.status_code} {posted.text}",
    )
    print("ok  single sign-on in the same session; client_secret_post accepted")

    # PKCE is required.
    refused = follow(requests.Session(), authorize_url(meta, None, "s", "n"), stop_at=REDIRECT_URI)
    query = parse_qs(urlsplit(refused.url).query)
    check(
        refused.url.startswith(REDIRECT_URI) and query.get("error") == ["invalid_request"],
        f"no PKCE accepted: {refused.url}",
    )
    print(f"ok  authorize without PKCE refused: {query['error_description'][0]}")

    # RP-initiated logout: the confirmation page, then back at the portal.
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT, "client_id": CLIENT_ID}
    confirm = session.get(f"{meta['end_session_endpoint']}?{urlencode(params)}", allow_redirects=False, timeout=TIMEOUT)
    check(confirm.status_code == 200 and 'id="op.logoutForm"' in confirm.text, f"logout page: {confirm.status_code}")
    check('lang="vi"' in confirm.text and "Đăng xuất" in confirm.text and "<script" not in confirm.text, "logout page")
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
    check(xsrf, "no xsrf on the logout page")
    done = session.post(
        form_action(confirm.text, confirm.url),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    check(
        done.status_code in (302, 303) and done.headers.get("Location", "").startswith(AFTER_LOGOUT),
        f"logout: {done.status_code} {done.headers.get('Location')}",
    )
    page = follow(session, authorize_url(meta, pkce()[1], "s", "n"), stop_at=REDIRECT_URI)
    check(page.status_code == 200 and "/interaction/" in page.url, "still signed in after logout")
    print(f"ok  logout: confirmation page, then {done.headers['Location']}; the next authorize asks to log in again")


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9400"
    try:
        run(base)
    except (Failed, requests.RequestException, KeyError, ValueError) as exc:
        print(f"FAIL {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("selftest passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
