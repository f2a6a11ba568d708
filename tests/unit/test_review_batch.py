"""Review's batch intake on plain data: a batch leaves exactly the rows its events leave one by one.

Each test runs on SQLite in memory (make run's local mode) and on a throwaway PostgreSQL
database (production), no broker: events are handed to the intake, or to the service's
entrypoint with a fake service, as the chassis would.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from chassis.consuming import DONE, DUPLICATE
from chassis.db import make_engine
from chassis.tables import inbox
from chassis.tables import metadata as chassis_metadata
from review import domain, flagging, intake
from review.models import AuditEntry, Base, Case, LevelReview, SimilarityBand, SimilarMatch
from review.service import ReviewService
from tests.conftest import REVIEW_TABLES, create_database, drop_database, migrate

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
HN = ["VGCL", "HN", "HN-KL", "HN-KL-C001"]
HN_DIRECT = ["VGCL", "HN", "HN-C002"]
DN = ["VGCL", "DN", "DN-C001"]
WORDS = " ".join(
    (
        "cải tiến quy trình máy hàn dây chuyền sản xuất tiết kiệm điện năng nguyên liệu phần mềm quản lý kho vật",
        "tư an toàn lao động bảo dưỡng thiết bị giảm thời gian thao tác nâng cao chất lượng số hóa hồ sơ",
    )
).split()


class Db:
    """The one method of chassis.db.Database a consumer uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory = sessionmaker(engine)
        self.transactions = 0

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.factory() as session, session.begin():
            self.transactions += 1
            yield session


class FakeReview:
    """What the service's entrypoints use of the service: its database."""

    def __init__(self, db: Db) -> None:
        self.db = db


def sqlite_db() -> Db:
    engine = create_engine("sqlite://")
    chassis_metadata.create_all(engine)
    Base.metadata.create_all(engine)
    return Db(engine)


@pytest.fixture(scope="module")
def pg_urls() -> Iterator[list[str]]:
    names = [f"sangkien_review_batch_{os.getpid()}_{n}" for n in "ab"]
    urls = [create_database(name) for name in names]
    for url in urls:
        migrate(url, "review")
    yield urls
    for name in names:
        drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request: pytest.FixtureRequest) -> Iterator[tuple[Db, Db]]:
    """Two empty review databases of one kind: one takes the batch, the other the events one by one."""
    if request.param == "sqlite":
        yield sqlite_db(), sqlite_db()
        return
    pair = []
    for url in request.getfixturevalue("pg_urls"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(REVIEW_TABLES)}"))
        pair.append(Db(engine))
    yield pair[0], pair[1]
    for db in pair:
        db.engine.dispose()


def phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def submitted(
    text_: str,
    unit_path: list[str] = HN,
    *,
    initiative_id: str | None = None,
    revision: int = 1,
    kind: str = "initiative.submitted",
) -> dict[str, Any]:
    """An `initiative.submitted` (or `.resubmitted`) event whose text is `text_`."""
    initiative_id = initiative_id or str(uuid.uuid4())
    words = text_.split()
    data = {
        "initiative_id": initiative_id,
        "revision": revision,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": unit_path[-1],
        "unit_path": unit_path,
        "top_unit": unit_path[1],
        "block": "enterprise",
        "title": " ".join(words[:8]).capitalize(),
        "field": "production_business",
        "target_group": 5,
        "confidential": False,
        "problem": " ".join(words[8:30]),
        "solution": " ".join(words[30:]),
        "novelty": f"Phiên bản {revision}",
        "scope": "Toàn bộ phân xưởng",
        "first_applied_on": "2026-01-15",
        "benefit_vnd_per_year": 10_000_000 + revision,
        "benefit_description": "Giá trị làm lợi ước tính",
        "authors": [{"member_id": "dv-1", "share_percent": 100.0}],
        "submitted_by": {"member_id": "dv-1", "role": "member"},
        "on_behalf": False,
        "submitted_at": "2026-11-20T03:00:00Z",
    }
    return {"id": str(uuid.uuid4()), "type": kind, "unit": unit_path[1], "data": data}


def withdrawn(initiative_id: str, unit_path: list[str] = HN) -> dict[str, Any]:
    data = {
        "initiative_id": initiative_id,
        "unit": unit_path[-1],
        "top_unit": unit_path[1],
        "programme": "LDST2026",
        "withdrawn_by": {"member_id": "dv-1", "role": "member"},
    }
    return {"id": str(uuid.uuid4()), "type": "initiative.withdrawn", "unit": unit_path[1], "data": data}


def variant(text_: str, rng: random.Random, changes: int = 3) -> str:
    """The same text with a few words changed: similar, not identical."""
    words = text_.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def one_by_one(db: Db, events: list[dict[str, Any]], handle: Any = intake.receive_batch) -> list[Any]:
    outcomes = []
    for event in events:
        with db.transaction() as session:
            outcomes += handle(session, [event], NOW)
    return outcomes


def in_one_batch(db: Db, events: list[dict[str, Any]], handle: Any = intake.receive_batch) -> list[Any]:
    with db.transaction() as session:
        return list(handle(session, events, NOW))


def rows(db: Db) -> dict[str, Any]:
    """Every review row; the audit trail in the order written, without its surrogate ids."""

    def table(model: Any, *order: Any) -> list[dict[str, Any]]:
        columns = [c for c in model.__table__.columns if c.name != "id"]
        with db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(*columns).order_by(*order))]

    return {
        "cases": table(Case, Case.initiative_id),
        "levels": table(LevelReview, LevelReview.initiative_id, LevelReview.level),
        "audit": table(AuditEntry, AuditEntry.id),
        "bands": table(SimilarityBand, SimilarityBand.initiative_id, SimilarityBand.band_key),
        "matches": table(SimilarMatch, SimilarMatch.initiative_id, SimilarMatch.other_id),
    }


Step = tuple[Any, ...]


def replay(db: Db, steps: list[Step]) -> None:
    """Earlier history, the same in each database: batches received or withdrawn, statuses set."""
    for step in steps:
        if step[0] == "status":
            with db.transaction() as session:
                session.execute(update(LevelReview).where(LevelReview.initiative_id == step[1]).values(status=step[2]))
        else:
            in_one_batch(db, step[1], intake.receive_batch if step[0] == "receive" else intake.withdraw_batch)


def history(rng: random.Random) -> tuple[list[Step], dict[str, str], list[str]]:
    """Earlier initiatives in every state a batch meets: their steps, ids by state, and texts."""
    ids = {name: str(uuid.uuid4()) for name in ("corrections", "returned", "recognized", "open", "withdrawn", "gone")}
    earlier = [submitted(phrase(rng, 60), HN if i % 3 else DN) for i in range(12)]
    earlier += [submitted(phrase(rng, 60), initiative_id=ids[name]) for name in ids if name != "gone"]
    ids["earliest"] = earlier[0]["data"]["initiative_id"]
    steps: list[Step] = [
        ("receive", earlier),
        ("status", ids["corrections"], domain.CORRECTIONS),
        ("status", ids["returned"], domain.RETURNED),
        ("status", ids["recognized"], domain.RECOGNIZED),
        ("withdraw", [withdrawn(ids["withdrawn"]), withdrawn(ids["gone"])]),  # "gone": before its submission
    ]
    return steps, ids, [text_of(e) for e in earlier]


def text_of(event: dict[str, Any]) -> str:
    return " ".join(event["data"][k] for k in ("title", "problem", "solution"))


def mixed_batch(rng: random.Random, ids: dict[str, str], earlier: list[str]) -> list[dict[str, Any]]:
    """47 events: new initiatives like earlier ones and like each other, resubmissions in every
    state, stale and repeated revisions, content after a withdrawal, a unit without a review chain."""
    batch: list[dict[str, Any]] = []
    for i in range(30):
        if i % 3 == 0:  # like an earlier initiative, of Hà Nội or of Đà Nẵng
            base = earlier[i % len(earlier)]
        elif i % 3 == 1:  # like the one before it in this very batch
            base = text_of(batch[-1])
        else:
            base = phrase(rng, 60)
        batch.append(submitted(variant(base, rng), [HN, HN_DIRECT, DN][i % 3]))
    again = "initiative.resubmitted"
    like = text_of(batch[3])
    twice, backwards = str(uuid.uuid4()), str(uuid.uuid4())
    batch += [
        submitted(variant(like, rng), initiative_id=ids["corrections"], revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=ids["returned"], revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=ids["recognized"], revision=2, kind=again),
        submitted(variant(like, rng), initiative_id=ids["open"], revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=ids["withdrawn"], revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=ids["gone"]),
        submitted(phrase(rng, 60), initiative_id=ids["earliest"]),  # stale: revision 1 is here already
        submitted(phrase(rng, 60), ["VGCL", "HN"]),  # no review chain: poison
        submitted(variant(like, rng), initiative_id=twice),
        submitted(variant(like, rng), initiative_id=twice, revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=backwards, revision=2, kind=again),
        submitted(phrase(rng, 60), initiative_id=backwards),  # older than the one before it
    ]
    return batch + [submitted(variant(like, rng), HN) for _ in range(5)]


def test_a_batch_leaves_the_rows_its_events_leave_one_by_one(dbs: tuple[Db, Db]) -> None:
    batched, alone = dbs
    rng = random.Random(2026)
    steps, ids, earlier = history(rng)
    events = mixed_batch(rng, ids, earlier)
    for db in dbs:
        replay(db, steps)
    assert rows(batched) == rows(alone)

    outcomes = in_one_batch(batched, events)
    assert outcomes == one_by_one(alone, events)
    assert rows(batched) == rows(alone)

    assert [o.status for o in outcomes].count("poison") == 1
    after = rows(batched)
    pairs = {(m["initiative_id"], m["other_id"]) for m in after["matches"]}
    assert len({a for a, _ in pairs}) > 10, "the texts are alike: many are flagged"
    # Within the batch: the initiative after events[3] is like it, and sees it.
    assert (events[4]["data"]["initiative_id"], events[3]["data"]["initiative_id"]) in pairs
    # Only the same top unit's initiatives are flagged: Đà Nẵng's are never like Hà Nội's.
    units = {c["initiative_id"]: c["top_unit"] for c in after["cases"]}
    assert all(units[a] == units[b] for a, b in pairs)
    assert any(units[a] == "DN" for a, _ in pairs)


def test_a_withdrawal_batch_leaves_the_rows_of_one_by_one(dbs: tuple[Db, Db]) -> None:
    batched, alone = dbs
    steps, ids, _ = history(random.Random(7))
    for db in dbs:
        replay(db, steps)
    never_seen = str(uuid.uuid4())
    events = [withdrawn(ids[name]) for name in ("corrections", "returned", "recognized", "open", "withdrawn")]
    events += [withdrawn(never_seen), withdrawn(ids["open"]), withdrawn(never_seen, DN)]
    handle = intake.withdraw_batch

    assert in_one_batch(batched, events, handle) == one_by_one(alone, events, handle) == [DONE] * len(events)
    assert rows(batched) == rows(alone)
    after = rows(batched)
    status = {r["initiative_id"]: r["status"] for r in after["levels"]}
    assert status[ids["open"]] == status[ids["corrections"]] == status[ids["returned"]] == domain.WITHDRAWN
    assert status[ids["recognized"]] == domain.RECOGNIZED  # a decision stands
    withdrawals = [a["initiative_id"] for a in after["audit"] if a["action"] == "withdrawn"]
    assert withdrawals.count(never_seen) == withdrawals.count(ids["open"]) == 1


def test_two_events_of_one_initiative_in_one_batch(dbs: tuple[Db, Db]) -> None:
    db, other = dbs
    rng = random.Random(3)
    first = submitted(phrase(rng, 60))
    initiative_id = first["data"]["initiative_id"]
    second = submitted(variant(text_of(first), rng), initiative_id=initiative_id, revision=2)

    assert in_one_batch(db, [first, second]) == [DONE, DONE]
    after = rows(db)
    assert [(c["revision"], c["level"]) for c in after["cases"]] == [(2, "grassroots")]
    assert [(lv["status"], lv["revision"]) for lv in after["levels"]] == [(domain.RECEIVED, 2)]
    assert [(a["action"], a["details"]) for a in after["audit"]] == [
        ("received", {"revision": 1}),
        ("resubmitted", {"revision": 2}),
    ]
    assert after["matches"] == []  # never like itself, though its first text came in the same batch
    assert {b["band_key"] for b in after["bands"]} == flagging.arrival(second["data"], True).keys

    # The other way round, the older revision is stale.
    assert in_one_batch(other, [second, first]) == [DONE, DONE]
    assert [c["revision"] for c in rows(other)["cases"]] == [2]
    assert [a["action"] for a in rows(other)["audit"]] == ["received"]


def test_outcomes_of_a_mixed_batch_through_the_entrypoint(dbs: tuple[Db, Db]) -> None:
    db, _ = dbs
    rng = random.Random(5)
    stale = submitted(phrase(rng, 60))
    in_one_batch(db, [submitted(phrase(rng, 60), initiative_id=stale["data"]["initiative_id"], revision=2)])
    good = [submitted(phrase(rng, 60), [HN, HN_DIRECT][i % 2]) for i in range(47)]
    poison = submitted(phrase(rng, 60), ["VGCL", "HN"])
    events = [*good[:10], poison, *good[10:20], good[5], stale, *good[20:]]
    before = db.transactions

    outcomes = ReviewService.on_submitted(FakeReview(db), events)

    assert db.transactions == before + 1, "one transaction: no event had to be handled alone"
    assert outcomes[10].status == "poison" and "two levels below the root" in outcomes[10].reason
    assert outcomes[21] == DUPLICATE
    assert outcomes[22] == DONE  # stale: nothing to do, and nothing to do again
    assert [o for i, o in enumerate(outcomes) if i not in (10, 21, 22)] == [DONE] * 47
    after = rows(db)
    revisions = {c["initiative_id"]: c["revision"] for c in after["cases"]}
    assert len(revisions) == 48 and revisions[stale["data"]["initiative_id"]] == 2
    assert poison["data"]["initiative_id"] not in revisions
    assert len(after["levels"]) == len(after["audit"]) == 48
    with db.engine.connect() as conn:
        claimed = set(conn.scalars(select(inbox.c.event_id)))
    assert poison["id"] not in claimed, "the poison event wrote nothing, its claim neither"
    assert {stale["id"], *(e["id"] for e in good)} <= claimed


def test_concurrent_batches_on_the_same_cases_never_deadlock(pg_urls: list[str]) -> None:
    """A resubmission batch and a withdrawal batch lock the same cases, given in opposite orders."""
    import eventlet

    url = pg_urls[0]
    setup = Db(make_engine(url))
    with setup.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(REVIEW_TABLES)}"))
    rng = random.Random(9)
    first = [submitted(phrase(rng, 60)) for _ in range(40)]
    in_one_batch(setup, first)
    ids = [e["data"]["initiative_id"] for e in first]
    again = [submitted(phrase(rng, 60), initiative_id=i, revision=2, kind="initiative.resubmitted") for i in ids]
    gone = [withdrawn(i) for i in reversed(ids)]
    dbs = [Db(make_engine(url)), Db(make_engine(url))]

    threads = [
        eventlet.spawn(ReviewService.on_resubmitted, FakeReview(dbs[0]), again),
        eventlet.spawn(ReviewService.on_withdrawn, FakeReview(dbs[1]), gone),
    ]
    outcomes = [thread.wait() for thread in threads]

    assert outcomes == [[DONE] * 40, [DONE] * 40]
    assert [db.transactions for db in dbs] == [1, 1], "each batch committed whole: no deadlock, no retry alone"
    after = rows(setup)
    assert {(c["revision"], c["withdrawn"]) for c in after["cases"]} == {(2, True)}
    assert {lv["status"] for lv in after["levels"]} == {domain.WITHDRAWN}
    for db in [setup, *dbs]:
        db.engine.dispose()


def test_a_band_shared_by_many_reads_only_its_first_postings(
    pg_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine earlier copies of one text; with 3 postings read per band key, only 3 can be flagged."""
    engine = make_engine(pg_urls[0])
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(REVIEW_TABLES)}"))
    db = Db(engine)
    copy = phrase(random.Random(11), 60)
    earlier = [submitted(copy, initiative_id=f"00000000-0000-0000-0000-00000000000{n}") for n in range(1, 10)]
    one_by_one(db, earlier)
    arrival = submitted(copy)

    monkeypatch.setattr(flagging, "POSTINGS_PER_BAND", 3)
    in_one_batch(db, [arrival])

    with engine.connect() as conn:
        flagged = conn.execute(
            select(SimilarMatch.other_id).where(SimilarMatch.initiative_id == arrival["data"]["initiative_id"])
        ).scalars()
        assert sorted(flagged) == [e["data"]["initiative_id"] for e in earlier[:3]]
    engine.dispose()
