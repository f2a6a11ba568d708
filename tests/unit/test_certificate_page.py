"""The certificate download page on plain fakes of the services: who may download (submission says),
which certificate (the highest level, or `?cap=`), and the PDF response itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from portal import certificate_pdf, pages_certificates
from portal.front import templates
from portal.models import Grant, Person
from portal.sessions import LANG_COOKIE, Visitor
from portal.upstreams import Answer
from portal.web import Page

INITIATIVE = "5b0a4c1e-8f0d-4a57-9c43-2f1f1d7b6a10"
PUBLIC = "https://sangkien.congdoan.vn"


def answer(status: int, body: Any) -> Answer:
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def refusal(status: int, en: str) -> Answer:
    return answer(status, {"error": {"code": "x", "message_vi": f"(vi) {en}", "message_en": en}})


ITEM = {
    "id": INITIATIVE,
    "title": "Cải tiến dây chuyền đóng gói",
    "unit": "HN-KL-C001",
    "status": "recognized",
    "recognized_level": "upper",
    "authors": [{"name": "Nguyễn Thị Hồng Nhung", "share_percent": 100.0, "member_id": "dv-001"}],
}
CERTIFICATES = [
    {
        "number": "HN-KL-C001-2026-000003",
        "verification_code": "HN-AAAA2222BB",
        "level": "grassroots",
        "issued_by": "HN-KL-C001",
        "issued_at": "2026-03-02T02:00:00+00:00",
    },
    {
        "number": "HN-KL-2026-000001",
        "verification_code": "HN-CCCC3333DD",
        "level": "upper",
        "issued_by": "HN-KL",
        "issued_at": "2026-03-20T02:00:00+00:00",
    },
]
UNITS = {
    "HN": {"code": "HN", "name": "Liên đoàn Lao động thành phố Hà Nội", "parent": "VGCL"},
    "HN-KL": {"code": "HN-KL", "name": "Công đoàn phường Kim Liên", "parent": "HN"},
    "HN-KL-C001": {"code": "HN-KL-C001", "name": "Công đoàn cơ sở Bệnh viện Demo số 1", "parent": "HN-KL"},
}


class FakeUpstreams:
    """Submission's initiative, review's file and public check, the unit registry; every call noted."""

    def __init__(self, initiative: Answer, review: Answer | None = None) -> None:
        self.initiative = initiative
        self.review = review or answer(200, {"initiative_id": INITIATIVE, "certificates": CERTIFICATES})
        self.calls: list[tuple[str, str, str | None]] = []

    def call(self, service: str, method: str, path: str, token: str | None = None, **_: Any) -> Answer:
        self.calls.append((service, path, token))
        assert (service, method, path) == ("submission", "GET", f"/api/v1/initiatives/{INITIATIVE}")
        return self.initiative

    def review_call(self, unit: str | None, method: str, path: str, token: str | None, **_: Any) -> Answer:
        self.calls.append(("review", path, token))
        assert unit == "HN-KL-C001" and method == "GET"
        if path == f"/api/v1/reviews/{INITIATIVE}":
            return self.review
        code = path.rsplit("/", 1)[1]
        found = next((c for c in CERTIFICATES if c["verification_code"] == code), None)
        if found is None:
            return refusal(404, "No certificate has this verification code.")
        return answer(200, {"valid": True, "title": ITEM["title"], "top_unit": "HN", **found})

    def unit(self, code: str) -> dict[str, Any] | None:
        return UNITS.get(code)


class FakeProvider:
    issuer = "http://127.0.0.1:9400"


class FakeFront:
    def __init__(self, upstreams: FakeUpstreams) -> None:
        self.upstreams = upstreams
        self.templates = templates()
        self.provider = FakeProvider()
        self.public_url = PUBLIC

    def token_for(self, person: str, grant: Grant) -> str:
        return f"token-of-{person}"

    def public_token(self) -> str:
        return "portal-reader"


def visitor(role: str = "member") -> Visitor:
    grant = Grant(id=7, person="p-1", role=role, unit="HN-KL-C001", unit_path="/VGCL/HN/HN-KL/HN-KL-C001/")
    return Visitor(person=Person(id="p-1", name="Nhung"), grants=(grant,), active=grant)


def download(upstreams: FakeUpstreams, who: Visitor | None = None, query: str = "", lang: str = "vi") -> Response:
    builder = EnvironBuilder(path=f"/sang-kien/{INITIATIVE}/giay-chung-nhan.pdf", query_string=query)
    if lang == "en":
        builder.headers["Cookie"] = f"{LANG_COOKIE}=en"
    page = Page(builder.get_request(), who or visitor(), FakeFront(upstreams), None)  # type: ignore[arg-type]
    return pages_certificates.download(page, INITIATIVE)


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The data each download printed (the real renderer still makes the PDF)."""
    seen: list[dict[str, Any]] = []
    real = certificate_pdf.render

    def spy(data: dict[str, Any]) -> bytes:
        seen.append(data)
        return real(data)

    monkeypatch.setattr(certificate_pdf, "render", spy)
    return seen


def test_a_visitor_who_is_not_logged_in_goes_to_the_login() -> None:
    upstreams = FakeUpstreams(answer(200, ITEM))
    response = download(upstreams, Visitor())
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/dang-nhap?next=%2Fsang-kien%2F")
    assert upstreams.calls == []


@pytest.mark.parametrize("status", [403, 404])
def test_whom_submission_refuses_gets_its_refusal_and_nothing_of_review(status: int) -> None:
    upstreams = FakeUpstreams(refusal(status, "This initiative is outside your unit's subtree."))
    response = download(upstreams, lang="en")
    assert response.status_code == status
    assert "outside your unit" in response.get_data(as_text=True)
    assert [c[0] for c in upstreams.calls] == ["submission"]


def test_an_initiative_not_recognised_yet_has_no_certificate() -> None:
    upstreams = FakeUpstreams(answer(200, {**ITEM, "status": "in_review", "recognized_level": None}))
    response = download(upstreams)
    assert response.status_code == 409
    assert "Chưa được công nhận" in response.get_data(as_text=True)
    assert download(upstreams, lang="en").get_data(as_text=True).count("Not recognised yet") >= 1
    assert {c[0] for c in upstreams.calls} == {"submission"}


def test_the_highest_level_is_printed_as_an_attachment(printed: list[dict[str, Any]]) -> None:
    upstreams = FakeUpstreams(answer(200, ITEM))
    response = download(upstreams)
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.get_data().startswith(b"%PDF-")
    assert response.headers["Content-Disposition"] == 'attachment; filename="giay-chung-nhan-HN-KL-2026-000001.pdf"'
    assert response.headers["Cache-Control"] == "private"
    # The visitor's own token asks submission; only then does the portal's reader read review.
    assert upstreams.calls[0] == ("submission", f"/api/v1/initiatives/{INITIATIVE}", "token-of-p-1")
    assert ("review", f"/api/v1/reviews/{INITIATIVE}", "portal-reader") in upstreams.calls
    [data] = printed
    assert data["number"] == "HN-KL-2026-000001" and data["level"] == "upper"
    assert data["verify_url"] == f"{PUBLIC}/chung-nhan?code=HN-CCCC3333DD"
    assert data["issued_by_name"] == "Công đoàn phường Kim Liên"
    assert data["issuer_parent_name"] == "Liên đoàn Lao động thành phố Hà Nội"
    assert data["unit_name"] == "Công đoàn cơ sở Bệnh viện Demo số 1"
    assert data["authors"] == ITEM["authors"]


def test_a_lower_level_is_printed_when_asked(printed: list[dict[str, Any]]) -> None:
    response = download(FakeUpstreams(answer(200, ITEM)), query="cap=grassroots")
    assert response.status_code == 200
    assert printed[0]["number"] == "HN-KL-C001-2026-000003"
    assert printed[0]["issuer_parent_name"] == "Công đoàn phường Kim Liên"


@pytest.mark.parametrize("query", ["cap=national", "cap=anything"])
def test_a_level_without_a_certificate_is_not_found(query: str, printed: list[dict[str, Any]]) -> None:
    response = download(FakeUpstreams(answer(200, ITEM)), query=query, lang="en")
    assert response.status_code == 404
    assert "No certificate" in response.get_data(as_text=True)
    assert printed == []


def test_review_not_knowing_the_certificates_yet_is_not_found() -> None:
    upstreams = FakeUpstreams(answer(200, ITEM), review=answer(200, {"certificates": []}))
    assert download(upstreams).status_code == 404


def test_choose_takes_the_latest_of_the_highest_level() -> None:
    again = {**CERTIFICATES[1], "number": "HN-KL-2026-000009", "issued_at": "2026-05-01T00:00:00+00:00"}
    assert pages_certificates.choose([*CERTIFICATES, again], None) == again
    assert pages_certificates.choose(CERTIFICATES, "grassroots") == CERTIFICATES[0]
    assert pages_certificates.choose(CERTIFICATES, "top") is None


def test_file_names_stay_ascii() -> None:
    assert pages_certificates.filename("VGCL-HN-2026-000001") == "giay-chung-nhan-VGCL-HN-2026-000001.pdf"
    assert pages_certificates.filename('Số "1"/2') == "giay-chung-nhan-S-1-2.pdf"
