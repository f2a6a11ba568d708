"""Submission's Core write path on PostgreSQL and SQLite, no broker: the rows the ORM wrote, the
same answers, idempotent replays and refused ones.

The entrypoint runs as nameko would call it, with a fake service whose `db` is the real database
provider's, so its retry on a repeated Idempotency-Key runs too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import sessionmaker
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from chassis.auth import Principal
from chassis.db import Db, make_engine
from chassis.errors import ApiError
from chassis.tables import outbox
from submission import bulk, events
from submission.models import Author, HistoryEntry, IdempotencyKey, Initiative
from submission.schemas import InitiativeOut
from submission.service import SubmissionService
from submission.writes import AUTHORS, HISTORY, INITIATIVES, KEYS
from tests.factories import UNIT, UPPER, initiative

MEMBER = Principal("dv-an", "member", UNIT)
TEAM = Principal("tht-1", "support_team", UPPER)
CO_AUTHORS = [
    {"name": "Nguyễn Văn An", "member_id": "dv-an", "share_percent": 33.34},
    {"name": "Trần Thị Bình", "share_percent": 33.33},
    {"name": "Lê Văn Cường", "member_id": "dv-cuong", "share_percent": "33.33"},
]
ANSWER = InitiativeOut()


@dataclass
class Auth:
    principal_of: Principal

    def principal(self, request: Request) -> Principal:
        return self.principal_of


@dataclass
class Metrics:
    unit: str = ""


@dataclass
class FakeService:
    """What submit_initiative uses of the service: its database, its caller and its metrics."""

    db: Db
    auth: Auth
    metrics: Metrics = field(default_factory=Metrics)


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    url = request.getfixturevalue("db_url" if request.param == "postgresql" else "sqlite_url")
    engine = make_engine(url)
    yield Db(sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()


def post(db: Db, principal: Principal, body: Any, key: str | None = None) -> tuple[int, dict[str, Any], dict]:
    headers = {"Idempotency-Key": key} if key else {}
    environ = EnvironBuilder(method="POST", path="/api/v1/initiatives", json=body, headers=headers).get_environ()
    try:
        response = SubmissionService.submit_initiative(FakeService(db, Auth(principal)), Request(environ))
    except ApiError as exc:
        response = exc.response()
    return response.status_code, json.loads(response.get_data()), dict(response.headers)


def rows(db: Db, table: Table, *where: Any) -> list[dict[str, Any]]:
    key = [c for c in table.primary_key.columns]
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where).order_by(*key))]


def count(db: Db, table: Table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def written(db: Db, initiative_id: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of one initiative, without the ids that differ between two writes of the same content."""
    own = {
        "initiatives": rows(db, INITIATIVES, INITIATIVES.c.id == initiative_id),
        "authors": rows(db, AUTHORS, AUTHORS.c.initiative_id == initiative_id),
        "keys": rows(db, KEYS, KEYS.c.initiative_id == initiative_id),
        "history": rows(db, HISTORY, HISTORY.c.initiative_id == initiative_id),
    }
    for table in own.values():
        for row in table:
            for name in ("id", "initiative_id", "key", "event_id"):
                row.pop(name, None)
    return own


def write_with_the_orm(db: Db, initiative_id: str, submitted: dict[str, Any]) -> None:
    """The unit of work's rows for the same content, the way submit wrote them before."""
    with db.transaction() as session:
        columns = {c: v for c, v in submitted["initiative"].items() if c not in ("id", "authors", "history")}
        ini = Initiative(id=initiative_id, **columns)
        ini.authors = [Author(position=i, **a) for i, a in enumerate(submitted["authors"])]
        session.add(ini)
        session.flush()
        session.add(IdempotencyKey(initiative_id=initiative_id, key=f"orm-{initiative_id}", **submitted["key"]))
        session.add(HistoryEntry(initiative_id=initiative_id, event_id="orm", **submitted["history"]))


def test_core_rows_are_the_orm_rows_for_a_submission_with_co_authors(db: Db) -> None:
    status, answer, headers = post(db, TEAM, initiative(authors=CO_AUTHORS, confidential=True), "k-1")
    assert status == 201 and headers["Location"] == f"/api/v1/initiatives/{answer['id']}"
    core = written(db, answer["id"])

    [ini] = core["initiatives"]
    assert ini["status"] == "submitted" and ini["revision"] == 1 and ini["phase"] == "P1"
    assert ini["unit"] == UNIT and ini["top_unit"] == "HN" and ini["unit_path"] == f"/VGCL/HN/{UPPER}/{UNIT}/"
    assert ini["review_level"] == "grassroots" and ini["reviewing_unit"] == UNIT and ini["recognized_level"] is None
    assert ini["submitted_by"] == "tht-1" and ini["submitted_by_role"] == "support_team" and ini["on_behalf"]
    assert ini["confidential"] is True and ini["submitted_at"] == ini["updated_at"]
    assert [(a["position"], a["member_id"], a["share_percent"]) for a in core["authors"]] == [
        (0, "dv-an", Decimal("33.34")),
        (1, None, Decimal("33.33")),
        (2, "dv-cuong", Decimal("33.33")),
    ]
    assert [(h["kind"], h["revision"], h["level"], h["unit"]) for h in core["history"]] == [
        ("submitted", 1, "grassroots", UNIT)
    ]
    assert core["keys"][0]["scope"] == "tht-1" and len(core["keys"][0]["request_digest"]) == 64

    submitted = {
        "initiative": ini,
        "authors": [{k: a[k] for k in ("name", "member_id", "share_percent")} for a in core["authors"]],
        "key": {k: core["keys"][0][k] for k in ("scope", "request_digest", "created_at")},
        "history": core["history"][0],
    }
    write_with_the_orm(db, "orm-reference", submitted)
    assert written(db, "orm-reference") == core


def test_the_answer_and_the_event_are_those_of_the_stored_initiative(db: Db) -> None:
    status, answer, _ = post(db, MEMBER, initiative(authors=CO_AUTHORS), "k-2")
    assert status == 201
    with db.read() as session:
        stored = session.get_one(Initiative, answer["id"])
        assert ANSWER.dump(stored) == answer  # what a GET answers now
        [history] = stored.history
        [body] = session.execute(select(outbox.c.body).where(outbox.c.event_id == history.event_id)).scalars()
        event = json.loads(body)
        expected = events.initiative_data(stored)
    assert event["type"] == "initiative.submitted" and event["subject"] == answer["id"]
    if db.engine.dialect.name == "sqlite":  # SQLite hands its times back naive: the event wrote them in UTC
        expected["submitted_at"] += "Z"
    assert event["data"] == expected


def test_an_idempotent_replay_answers_the_first_result_and_writes_nothing(db: Db) -> None:
    first = post(db, MEMBER, initiative(authors=CO_AUTHORS), "retry-1")
    again = post(db, MEMBER, initiative(authors=CO_AUTHORS), "retry-1")
    assert first[0] == again[0] == 201
    assert again[1] == first[1] and again[2]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first[2]
    assert [count(db, t) for t in (INITIATIVES, AUTHORS, KEYS, HISTORY, outbox)] == [1, 3, 1, 1, 1]
    other_caller = post(db, Principal("dv-cuong", "member", UNIT), initiative(authors=CO_AUTHORS), "retry-1")
    assert other_caller[0] == 201 and other_caller[1]["id"] != first[1]["id"]  # a key is the caller's own


def test_a_conflicting_replay_is_refused_and_writes_nothing(db: Db) -> None:
    assert post(db, MEMBER, initiative(), "once")[0] == 201
    for body in (initiative(title="Khác"), initiative(title="")):  # valid or not, the key decides first
        status, answer, _ = post(db, MEMBER, body, "once")
        assert status == 409 and answer["error"]["code"] == "idempotency_key_reused"
    assert [count(db, t) for t in (INITIATIVES, KEYS, HISTORY, outbox)] == [1, 1, 1, 1]


def test_refusals_are_the_same_with_a_new_key_or_none(db: Db) -> None:
    for key in ("fresh", None):
        for body, wrong in ((initiative(title=""), "title"), (initiative(authors=CO_AUTHORS[1:]), "authors")):
            status, answer, _ = post(db, MEMBER, body, key)
            assert status == 422 and set(answer["error"]["fields"]) == {wrong}
        status, answer, _ = post(db, Principal("rv-1", "reviewer", UNIT), initiative(), key)
        assert status == 403
    status, answer, _ = post(db, MEMBER, initiative(), "k" * 201)
    assert status == 422 and set(answer["error"]["fields"]) == {"Idempotency-Key"}
    assert [count(db, t) for t in (INITIATIVES, AUTHORS, KEYS, HISTORY, outbox)] == [0, 0, 0, 0, 0]


def test_a_bulk_import_writes_the_rows_a_submission_writes(db: Db) -> None:
    row = {**bulk.EXAMPLE_ROW, "unit": UNIT, "author2_member_id": "dv-binh"}
    result = bulk.import_rows(db.transaction, TEAM, iter([(2, row), (3, row)]))
    assert (result.accepted, result.duplicates) == (1, 1)
    [imported] = rows(db, INITIATIVES)
    status, answer, _ = post(db, TEAM, bulk.row_to_payload(row))
    assert status == 201
    by_bulk, by_api = written(db, imported["id"]), written(db, answer["id"])
    for table in (*by_bulk.values(), *by_api.values()):
        for r in table:
            for name in ("submitted_at", "updated_at", "created_at", "at"):
                r.pop(name, None)
    assert by_bulk["keys"] == [{"scope": "bulk", "request_digest": bulk.digest(bulk.row_to_payload(row))}]
    assert by_api["keys"] == []  # no Idempotency-Key
    assert {k: v for k, v in by_bulk.items() if k != "keys"} == {k: v for k, v in by_api.items() if k != "keys"}
    assert count(db, outbox) == 2
