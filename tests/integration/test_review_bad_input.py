"""Review API: bad input, actions out of order and callers out of scope get a 4xx and change nothing.

One submission service and one catch-all review service run for the whole module, on their own
RabbitMQ virtual host and their own databases, so that the many parametrised cases share them and
create fresh initiatives cheaply. Every refused request is checked to leave the review database
(audit trail, outbox, scorecards, certificates, levels, councils) and the review file as they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
import pytest
import requests
from nameko.containers import get_container_cls
from sqlalchemy import Engine, create_engine, text

from chassis.config import nameko_config, setting
from chassis.db import normalize_url
from review.service import ReviewService
from submission.service import SubmissionService
from tests.conftest import create_database, drop_database, free_port, migrate, seed, token
from tests.factories import UNIT, UPPER, initiative
from tests.integration.conftest import count, post, wait_for

TOP, NATIONAL = "HN", "VGCL"
# An initiative of HN-KL-C001 climbs HN-KL-C001 -> HN-KL -> HN -> VGCL.
CHAIN = {"grassroots": UNIT, "upper": UPPER, "top": TOP, "national": NATIONAL}
# An initiative of HN-TH-C001 reaches HN-TH, whose council stays empty (LDST2026 decides upper by council).
NO_COUNCIL_UNIT, NO_COUNCIL_UPPER = "HN-TH-C001", "HN-TH"
LEVELS = ("grassroots", "upper", "top", "national")
COUNCILS = {UPPER: ["hd-kl-1", "hd-kl-2", "hd-kl-3"], TOP: ["hd-hn-1", "hd-hn-2", "hd-hn-3"], NATIONAL: ["hd-tw-1"]}
# LDST2026: grassroots by one reviewer, upper by average, top and national by majority (pass 6.0 / 7.5).
GOOD_SCORES = {"novelty": 9, "applicability": 8, "benefit": 8.5}
READER = token("national_admin", NATIONAL, "ad-tw")  # reads every review file
ADMIN = {NATIONAL: READER, TOP: token("unit_admin", TOP, "ad-hn"), UPPER: token("unit_admin", UPPER, "ad-kl")}
TABLES = (
    "audit_trail",
    "outbox",
    "scorecards",
    "certificates",
    "certificate_series",
    "level_reviews",
    "council_members",
)


def reviewer(unit: str, sub: str | None = None) -> dict[str, str]:
    return token("reviewer", unit, sub or f"rv-{unit.lower()}")


def scorers(level: str, unit: str) -> list[str]:
    return COUNCILS[unit][:2] if level != "grassroots" else [f"rv-{unit.lower()}"]


@dataclass
class World:
    api: str  # submission service
    review: str  # review service
    review_db: str
    engine: Engine

    def file_url(self, initiative_id: str) -> str:
        return f"{self.review}/api/v1/reviews/{initiative_id}"

    def action_url(self, initiative_id: str, action: str) -> str:
        return f"{self.review}/api/v1/reviews/{initiative_id}/{action}"

    def rows(self) -> dict[str, int]:
        """Row counts of the review database (one query: the matrix asks this hundreds of times)."""
        sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
        with self.engine.connect() as conn:
            return dict(zip(TABLES, conn.execute(text(sql)).one(), strict=True))

    def review_file(self, initiative_id: str) -> dict[str, Any]:
        answer = requests.get(self.file_url(initiative_id), headers=READER, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def state(self, initiative_id: str | None) -> tuple[dict[str, int], dict[str, Any] | None]:
        return self.rows(), self.review_file(initiative_id) if initiative_id else None

    # --- Driving initiatives -----------------------------------------------------------------

    def submit(self, unit: str = UNIT, **changes: Any) -> str:
        author = token("member", unit, "dv-an")
        answer = post(f"{self.api}/api/v1/initiatives", initiative(unit=unit, **changes), author)
        assert answer.status_code == 201, answer.text
        initiative_id = answer.json()["id"]
        wait_for(lambda: requests.get(self.file_url(initiative_id), headers=READER, timeout=5).status_code == 200)
        return initiative_id

    def act(self, initiative_id: str, action: str, body: Any, who: dict[str, str]) -> dict[str, Any]:
        answer = post(self.action_url(initiative_id, action), body, who)
        assert answer.status_code == 200, f"{action}: {answer.text}"
        return answer.json()

    def accepted(self, unit: str = UNIT) -> str:
        initiative_id = self.submit(unit)
        self.act(initiative_id, "accept", {}, reviewer(unit))
        return initiative_id

    def recognise(self, initiative_id: str, level: str, unit: str) -> dict[str, Any]:
        """Accepts, scores (one reviewer or two council members) and recognises at one level."""
        self.act(initiative_id, "accept", {"note": "Hồ sơ đầy đủ"}, reviewer(unit))
        for scorer in scorers(level, unit):
            self.act(initiative_id, "scores", GOOD_SCORES, reviewer(unit, scorer))
        return self.act(initiative_id, "decision", {"decision": "recognize"}, reviewer(unit))

    def climbed(self, to: str, chain: dict[str, str] = CHAIN) -> str:
        """A fresh initiative, recognised and nominated level by level until it is received at `to`."""
        initiative_id = self.submit(chain["grassroots"])
        for level in LEVELS[: LEVELS.index(to)]:
            self.recognise(initiative_id, level, chain[level])
            self.act(initiative_id, "nomination", {"honour": "exemplary"}, reviewer(chain[level]))
        return initiative_id

    def withdrawn(self, initiative_id: str, unit: str = UNIT) -> None:
        url = f"{self.api}/api/v1/initiatives/{initiative_id}/withdraw"
        answer = post(url, {"reason": "Tác giả rút hồ sơ"}, token("member", unit, "dv-an"))
        assert answer.status_code == 200, answer.text
        wait_for(lambda: self.review_file(initiative_id)["withdrawn"] is True)


def refused(
    world: World,
    method: str,
    url: str,
    who: dict[str, str] | None,
    status: int,
    code: str | None = None,
    *,
    initiative_id: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Sends a request that must be refused with `status` (and `code`), and leave everything as it was."""
    before = world.state(initiative_id)
    answer = requests.request(method, url, headers=who, timeout=10, **kwargs)
    assert answer.status_code == status, f"{method} {url}: {answer.status_code} {answer.text[:600]}"
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert error["message_vi"] and error["message_en"], error
    if code is not None:
        assert error["code"] == code, error
    assert world.state(initiative_id) == before, f"refused {method} {url} changed something"
    return error


@pytest.fixture(scope="module")
def world(request, vhost_pipeline) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """Submission + catch-all review for the whole module, on a vhost and databases of their own."""
    broker = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    name = f"sangkien_rbi_{os.getpid()}"
    submission_db = create_database(name)
    review_db = create_database(f"{name}_review")
    containers = []
    engine = create_engine(normalize_url(review_db))
    try:
        migrate(submission_db)
        seed(submission_db)
        migrate(review_db, "review")
        with vhost_pipeline.get() as vhost:
            amqp_uri = f"{broker.scheme}://{broker.netloc}/{vhost}"
            urls = []
            for service, cls, db, extra in (
                ("submission", SubmissionService, submission_db, {}),
                ("review", ReviewService, review_db, {"UNITS": "*"}),
            ):
                address = f"127.0.0.1:{free_port()}"
                config = nameko_config(service, AMQP_URI=amqp_uri, DATABASE_URL=db, WEB_SERVER_ADDRESS=address, **extra)
                containers.append(get_container_cls(config)(cls, config))
                containers[-1].start()
                urls.append(f"http://{address}")
            built = World(api=urls[0], review=urls[1], review_db=review_db, engine=engine)
            for unit, members in COUNCILS.items():
                for member in members:
                    answer = requests.put(
                        f"{built.review}/api/v1/councils/{unit}/members/{member}",
                        json={},
                        headers=ADMIN[unit],
                        timeout=10,
                    )
                    assert answer.status_code == 201, answer.text
            yield built
            for container in containers:
                container.kill()
            containers.clear()
    finally:
        for container in containers:
            container.kill()
        engine.dispose()
        drop_database(name)
        drop_database(f"{name}_review")


# --- Actions out of order: 409 action_out_of_order ----------------------------------------------


def test_deciding_before_intake_is_out_of_order(world: World) -> None:
    initiative_id = world.submit()
    for body in (
        {"decision": "recognize"},
        {"decision": "reject", "reason": "Chưa có tính mới"},
        {"decision": "return", "reason": "Bổ sung số liệu"},
    ):
        error = refused(
            world,
            "POST",
            world.action_url(initiative_id, "decision"),
            reviewer(UNIT),
            409,
            "action_out_of_order",
            initiative_id=initiative_id,
            json=body,
        )
        assert "not been accepted" in error["message_en"] and "chưa được tiếp nhận" in error["message_vi"]
    assert world.review_file(initiative_id)["steps"][0]["status"] == "received"


def test_scoring_before_accepting_is_out_of_order(world: World) -> None:
    initiative_id = world.submit()
    refused(
        world,
        "POST",
        world.action_url(initiative_id, "scores"),
        reviewer(UNIT),
        409,
        "action_out_of_order",
        initiative_id=initiative_id,
        json=GOOD_SCORES,
    )


def test_accepting_twice_is_out_of_order(world: World) -> None:
    initiative_id = world.accepted()
    for who in (reviewer(UNIT), token("unit_admin", UNIT, "ad-cs")):
        error = refused(
            world,
            "POST",
            world.action_url(initiative_id, "accept"),
            who,
            409,
            "action_out_of_order",
            initiative_id=initiative_id,
            json={"note": "lần hai"},
        )
        assert "already accepted" in error["message_en"]
    assert [a["action"] for a in world.review_file(initiative_id)["audit"]].count("accept") == 1


def test_asking_for_corrections_after_accepting_is_out_of_order(world: World) -> None:
    initiative_id = world.accepted()
    refused(
        world,
        "POST",
        world.action_url(initiative_id, "corrections"),
        reviewer(UNIT),
        409,
        "action_out_of_order",
        initiative_id=initiative_id,
        json={"reason": "Bổ sung"},
    )


def test_nominating_before_recognition_is_out_of_order(world: World) -> None:
    initiative_id = world.submit()
    url = world.action_url(initiative_id, "nomination")
    refused(world, "POST", url, reviewer(UNIT), 409, "action_out_of_order", initiative_id=initiative_id, json={})
    world.act(initiative_id, "accept", {}, reviewer(UNIT))
    refused(
        world,
        "POST",
        url,
        reviewer(UNIT),
        409,
        "action_out_of_order",
        initiative_id=initiative_id,
        json={"honour": "exemplary"},
    )
    world.act(initiative_id, "decision", {"decision": "reject", "reason": "Chưa có tính mới"}, reviewer(UNIT))
    refused(world, "POST", url, reviewer(UNIT), 409, "action_out_of_order", initiative_id=initiative_id, json={})
    assert len(world.review_file(initiative_id)["steps"]) == 1


def test_nothing_goes_beyond_the_national_level(world: World) -> None:
    initiative_id = world.climbed("national")
    recognised = world.recognise(initiative_id, "national", NATIONAL)
    assert [s["status"] for s in recognised["steps"]] == ["nominated"] * 3 + ["recognized"]
    who = reviewer(NATIONAL)
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, "nomination"),
        who,
        409,
        "action_out_of_order",
        initiative_id=initiative_id,
        json={"honour": "national_award"},
    )
    assert "national" in error["message_en"]
    for action, body in (("decision", {"decision": "recognize"}), ("accept", {}), ("scores", GOOD_SCORES)):
        refused(
            world,
            "POST",
            world.action_url(initiative_id, action),
            who,
            409,
            "action_out_of_order",
            initiative_id=initiative_id,
            json=body,
        )
    # The national certificate can be checked by its code, typed in any case.
    code = recognised["certificates"][-1]["verification_code"]
    check = requests.get(f"{world.review}/api/v1/certificates/{code.lower()}", timeout=10)
    assert check.status_code == 200 and check.json()["level"] == "national", check.text


def test_a_withdrawn_initiative_cannot_be_accepted_scored_or_decided(world: World) -> None:
    waiting = world.submit()  # withdrawn before intake
    in_review = world.accepted()  # withdrawn while scored
    world.withdrawn(waiting)
    world.withdrawn(in_review)
    for initiative_id in (waiting, in_review):
        status = world.review_file(initiative_id)["steps"][0]["status"]
        assert status == "withdrawn", status
    attempts = [
        (waiting, "accept", {}),
        (waiting, "corrections", {"reason": "Bổ sung"}),
        (waiting, "scores", GOOD_SCORES),
        (in_review, "scores", GOOD_SCORES),
        (in_review, "accept", {}),
        (in_review, "decision", {"decision": "recognize"}),
        (in_review, "decision", {"decision": "reject", "reason": "Không đạt"}),
        (in_review, "decision", {"decision": "return", "reason": "Bổ sung"}),
        (in_review, "nomination", {}),
    ]
    for initiative_id, action, body in attempts:
        error = refused(
            world,
            "POST",
            world.action_url(initiative_id, action),
            reviewer(UNIT),
            409,
            "action_out_of_order",
            initiative_id=initiative_id,
            json=body,
        )
        assert "withdrawn" in error["message_en"] and "rút" in error["message_vi"], (action, error)


# --- Scorecards and councils ------------------------------------------------------------------------


def test_a_second_reviewer_cannot_score_at_a_single_reviewer_level(world: World) -> None:
    initiative_id = world.accepted()
    world.act(initiative_id, "scores", GOOD_SCORES, reviewer(UNIT, "rv-cs-1"))
    url = world.action_url(initiative_id, "scores")
    for who in (reviewer(UNIT, "rv-cs-2"), token("unit_admin", UNIT, "ad-cs"), reviewer(UNIT, "rv-cs-1")):
        refused(
            world,
            "POST",
            url,
            who,
            409,
            "voted",
            initiative_id=initiative_id,
            json={"novelty": 1, "applicability": 1, "benefit": 1},
        )
    assert len(world.review_file(initiative_id)["scorecards"]) == 1


def test_a_council_member_votes_once(world: World) -> None:
    initiative_id = world.climbed("upper")
    world.act(initiative_id, "accept", {}, reviewer(UPPER))
    member = reviewer(UPPER, "hd-kl-1")
    world.act(initiative_id, "scores", GOOD_SCORES, member)
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, "scores"),
        member,
        409,
        "voted",
        initiative_id=initiative_id,
        json={"novelty": 2, "applicability": 2, "benefit": 2},
    )
    assert error["message_vi"] != error["message_en"]
    verdict = world.review_file(initiative_id)["verdict"]
    assert verdict["scorers"] == 1 and verdict["novelty"] == 9


def test_only_council_members_score_at_a_council_level(world: World) -> None:
    initiative_id = world.climbed("upper")
    world.act(initiative_id, "accept", {}, reviewer(UPPER))
    url = world.action_url(initiative_id, "scores")
    # The level's own reviewer and admin, when not on the council, and a member of another unit's council.
    for who in (reviewer(UPPER), token("unit_admin", UPPER, "ad-kl"), reviewer(UPPER, "hd-hn-1")):
        refused(world, "POST", url, who, 403, "forbidden", initiative_id=initiative_id, json=GOOD_SCORES)
    # The member of HN-KL's council who signs in with another unit's token is not acting for HN-KL.
    refused(
        world, "POST", url, reviewer(TOP, "hd-kl-1"), 403, "forbidden", initiative_id=initiative_id, json=GOOD_SCORES
    )


def test_recognising_before_the_quorum_is_refused(world: World) -> None:
    initiative_id = world.climbed("upper")
    world.act(initiative_id, "accept", {}, reviewer(UPPER))
    url = world.action_url(initiative_id, "decision")
    refused(
        world,
        "POST",
        url,
        reviewer(UPPER),
        409,
        "quorum_not_reached",
        initiative_id=initiative_id,
        json={"decision": "recognize"},
    )
    world.act(initiative_id, "scores", GOOD_SCORES, reviewer(UPPER, "hd-kl-1"))  # 1 of the 2 needed (3 members)
    error = refused(
        world,
        "POST",
        url,
        reviewer(UPPER),
        409,
        "quorum_not_reached",
        initiative_id=initiative_id,
        json={"decision": "recognize", "reason": "Đạt"},
    )
    assert "1 of the 2" in error["message_en"] and "1/2" in error["message_vi"]
    step = world.review_file(initiative_id)["steps"][1]
    assert step["status"] == "in_review" and step["decided_at"] is None and step["reason"] is None


def test_a_council_level_without_a_council_cannot_recognise(world: World) -> None:
    chain = {"grassroots": NO_COUNCIL_UNIT, "upper": NO_COUNCIL_UPPER, "top": TOP, "national": NATIONAL}
    initiative_id = world.climbed("upper", chain)
    world.act(initiative_id, "accept", {}, reviewer(NO_COUNCIL_UPPER))
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, "decision"),
        reviewer(NO_COUNCIL_UPPER),
        409,
        "no_council",
        initiative_id=initiative_id,
        json={"decision": "recognize"},
    )
    assert "hội đồng" in error["message_vi"]
    refused(
        world,
        "POST",
        world.action_url(initiative_id, "scores"),
        reviewer(NO_COUNCIL_UPPER),
        403,
        "forbidden",
        initiative_id=initiative_id,
        json=GOOD_SCORES,
    )


# --- Authorisation matrix ----------------------------------------------------------------------------

ROLES = ("member", "support_team", "reviewer", "unit_admin", "national_admin", "operator")
READING_ROLES = ("reviewer", "unit_admin", "national_admin", "operator")
ACTING_ROLES = ("reviewer", "unit_admin", "national_admin")
# position: (the level the initiative of HN-KL-C001 is at, the caller's unit)
POSITIONS = {
    "own": ("grassroots", UNIT),
    "parent": ("grassroots", UPPER),
    "top": ("grassroots", TOP),
    "national": ("grassroots", NATIONAL),
    "sibling": ("grassroots", "HN-KL-C002"),
    "other_upper": ("grassroots", "HN-TH"),
    "other_top": ("grassroots", "DNG"),
    "own_upper": ("upper", UPPER),
    "descendant_on_path": ("upper", UNIT),  # the author's own grassroots union, once it moved up
    "descendant_off_path": ("upper", "HN-KL-C002"),
    "ancestor_upper": ("upper", TOP),
}
ON_PATH = ("own", "parent", "top", "national", "own_upper", "descendant_on_path", "ancestor_upper")
AT_OR_ABOVE_LEVEL = ("own", "parent", "top", "national", "own_upper", "ancestor_upper")
OWN = ("own", "own_upper")
OPERATIONS = ("read_file", "read_queue", "accept")
MATRIX = [(op, position, role) for op in OPERATIONS for position in POSITIONS for role in ROLES]


def _below(code: str, ancestor: str) -> bool:
    """The seeded unit codes nest (HN > HN-KL > HN-KL-C001) under the national VGCL."""
    return ancestor == NATIONAL or code == ancestor or code.startswith(f"{ancestor}-")


@pytest.fixture(scope="module")
def matrix_items(world: World) -> dict[str, str]:
    """One initiative received at grassroots, one received at the upper level; refused calls share them."""
    return {"grassroots": world.submit(), "upper": world.climbed("upper")}


@pytest.mark.parametrize(("operation", "position", "role"), MATRIX, ids=["-".join(case) for case in MATRIX])
def test_authorisation_matrix(world: World, matrix_items: dict[str, str], operation, position, role) -> None:  # type: ignore[no-untyped-def]
    level, unit = POSITIONS[position]
    sub = f"{role}-{position}".replace("_", "-")
    who = token(role, unit, sub)
    initiative_id = matrix_items[level]
    if operation == "read_file":
        allowed = role in READING_ROLES and position in ON_PATH
        if allowed:
            answer = requests.get(world.file_url(initiative_id), headers=who, timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.json()["initiative_id"] == initiative_id and answer.json()["level"] == level
        else:
            refused(world, "GET", world.file_url(initiative_id), who, 403, "forbidden")
    elif operation == "read_queue":
        for scope, visible in (("mine", position in OWN), ("subtree", position in AT_OR_ABOVE_LEVEL)):
            params = {"scope": scope, "level": level, "status": "all", "limit": "200"}
            url = f"{world.review}/api/v1/reviews"
            if role not in READING_ROLES:
                refused(world, "GET", url, who, 403, "forbidden", params=params)
                continue
            answer = requests.get(url, params=params, headers=who, timeout=10)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            assert page["total"] <= 200, "the test world outgrew one page"
            listed = [i["initiative_id"] for i in page["items"]]
            assert (initiative_id in listed) == visible, (scope, listed)
            # Nothing from outside the caller's unit (mine) or subtree (subtree).
            units = {i["level_unit"] for i in page["items"]}
            assert units <= {unit} if scope == "mine" else all(_below(u, unit) for u in units), (scope, units)
    else:
        allowed = role in ACTING_ROLES and position in OWN
        if not allowed:
            refused(
                world,
                "POST",
                world.action_url(initiative_id, "accept"),
                who,
                403,
                "forbidden",
                initiative_id=initiative_id,
                json={"note": "ngoài phạm vi"},
            )
            return
        fresh = world.submit() if level == "grassroots" else world.climbed("upper")
        before = world.rows()
        review = world.act(fresh, "accept", {"note": "Tiếp nhận"}, who)
        step = next(s for s in review["steps"] if s["level"] == level)
        assert step["status"] == "in_review" and step["clock"] == "decision"
        last = review["audit"][-1]
        assert (last["action"], last["actor"], last["role"], last["level"]) == ("accept", sub, role, level)
        after = world.rows()
        assert after["audit_trail"] == before["audit_trail"] + 1 and after["outbox"] == before["outbox"] + 1


# --- Field-level validation --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def items(world: World) -> dict[str, str]:
    """Initiatives where each action would succeed, so that only the bad input can refuse it."""
    return {"received": world.submit(), "in_review": world.accepted()}


def _vietnamese(error: dict[str, Any], field: str) -> None:
    assert field in error["fields"] and field in error["fields_vi"], error
    assert error["fields_vi"][field] != error["fields"][field], f"fields_vi.{field} is not Vietnamese: {error}"


MISSING_REASONS = [
    ("corrections", "received", {}),
    ("corrections", "received", {"reason": ""}),
    ("corrections", "received", {"reason": None}),
    ("corrections", "fresh", {"reason": "   "}),  # a blank reason is no reason
    ("decision", "in_review", {"decision": "reject"}),
    ("decision", "in_review", {"decision": "reject", "reason": ""}),
    ("decision", "in_review", {"decision": "reject", "reason": "  \n "}),
    ("decision", "in_review", {"decision": "return"}),
    ("decision", "in_review", {"decision": "return", "reason": None}),
]


@pytest.mark.parametrize(
    ("action", "state", "body"), MISSING_REASONS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(MISSING_REASONS)]
)
def test_a_reason_is_required_to_ask_for_corrections_reject_or_return(world: World, items, action, state, body) -> None:  # type: ignore[no-untyped-def]
    initiative_id = world.submit() if state == "fresh" else items[state]
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, action),
        reviewer(UNIT),
        422,
        "validation_failed",
        initiative_id=initiative_id,
        json=body,
    )
    _vietnamese(error, "reason")


def _score(**changes: Any) -> dict[str, Any]:
    return {**GOOD_SCORES, **changes}


BAD_BODIES = [
    ("scores", _score(novelty=-1), "novelty"),
    ("scores", _score(applicability=11), "applicability"),
    ("scores", _score(benefit=10.01), "benefit"),
    ("scores", _score(novelty="abc"), "novelty"),
    ("scores", _score(novelty="NaN"), "novelty"),
    ("scores", _score(benefit="Infinity"), "benefit"),
    ("scores", _score(novelty=True), "novelty"),
    ("scores", _score(novelty=None), "novelty"),
    ("scores", _score(novelty=[9]), "novelty"),
    ("scores", {"novelty": 9, "applicability": 8}, "benefit"),
    ("scores", _score(colour="đỏ"), "colour"),
    ("scores", _score(comment=5), "comment"),
    ("scores", _score(comment="x" * 2001), "comment"),
    ("scores", [GOOD_SCORES], "_body"),
    ("scores", "9", "_body"),
    ("accept", {"note": 5}, "note"),
    ("accept", {"note": "x" * 2001}, "note"),
    ("accept", {"reviewer": "someone-else"}, "reviewer"),
    ("accept", [], "_body"),
    ("decision", {}, "decision"),
    ("decision", {"decision": "approve"}, "decision"),
    ("decision", {"decision": "recognize", "reason": 5}, "reason"),
    ("decision", {"decision": "recognize", "certificate": "HN-1"}, "certificate"),
    ("nomination", {"honour": "gold"}, "honour"),
    ("nomination", {"honour": "exemplary", "to": "VGCL"}, "to"),
    ("corrections", {"reason": ["Bổ sung"]}, "reason"),
    ("corrections", {"reason": "x" * 2001}, "reason"),
]


@pytest.mark.parametrize(
    ("action", "body", "field"), BAD_BODIES, ids=[f"{a}-{f}-{i}" for i, (a, _, f) in enumerate(BAD_BODIES)]
)
def test_bad_bodies_get_field_level_422(world: World, items, action, body, field) -> None:  # type: ignore[no-untyped-def]
    initiative_id = items["received" if action in ("accept", "corrections") else "in_review"]
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, action),
        reviewer(UNIT),
        422,
        "validation_failed",
        initiative_id=initiative_id,
        json=body,
    )
    assert field in error["fields"] and field in error["fields_vi"], error


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_scores_in_raw_json_are_refused(world: World, items, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    initiative_id = items["in_review"]
    body = b'{"novelty": ' + raw + b', "applicability": 8, "benefit": 8}'
    headers = {**reviewer(UNIT), "Content-Type": "application/json"}
    error = refused(
        world,
        "POST",
        world.action_url(initiative_id, "scores"),
        headers,
        422,
        "validation_failed",
        initiative_id=initiative_id,
        data=body,
    )
    _vietnamese(error, "novelty")


def test_malformed_bodies_wrong_content_types_and_sizes(world: World, items) -> None:  # type: ignore[no-untyped-def]
    initiative_id = items["in_review"]
    url = world.action_url(initiative_id, "scores")
    as_json = {**reviewer(UNIT), "Content-Type": "application/json"}
    refused(world, "POST", url, as_json, 400, "malformed_json", initiative_id=initiative_id, data=b'{"novelty": 9,')
    refused(
        world, "POST", url, as_json, 400, "malformed_json", initiative_id=initiative_id, data=b'{"comment": "\xff"}'
    )
    for content_type, data in (
        ("text/plain", b'{"novelty": 9}'),
        ("application/x-www-form-urlencoded", b"novelty=9"),
        ("multipart/form-data; boundary=x", b"--x--"),
    ):
        refused(
            world,
            "POST",
            url,
            {**reviewer(UNIT), "Content-Type": content_type},
            415,
            "unsupported_media_type",
            initiative_id=initiative_id,
            data=data,
        )
    refused(
        world,
        "POST",
        url,
        as_json,
        413,
        "payload_too_large",
        initiative_id=initiative_id,
        data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
    )
    refused(
        world,
        "POST",
        url,
        reviewer(UNIT),
        400,
        "invalid_characters",
        initiative_id=initiative_id,
        json=_score(comment="a\x00b"),
    )
    received = items["received"]
    refused(
        world,
        "POST",
        world.action_url(received, "corrections"),
        as_json,
        400,
        "malformed_json",
        initiative_id=received,
        data=b"{reason: x}",
    )
    for raw in (b"null", '"Bổ sung"'.encode(), b"42", b"true"):
        error = refused(
            world,
            "POST",
            world.action_url(received, "corrections"),
            as_json,
            422,
            "validation_failed",
            initiative_id=received,
            data=raw,
        )
        assert "_body" in error["fields"], (raw, error)


VALID_BODIES = {
    "accept": {},
    "corrections": {"reason": "Bổ sung"},
    "scores": GOOD_SCORES,
    "decision": {"decision": "recognize"},
    "nomination": {},
}


def test_unknown_and_malformed_initiative_ids_answer_json_404(world: World) -> None:
    missing = "3f0e6b7e-0000-4000-8000-000000000000"
    who = reviewer(UNIT)
    for path in ("not-a-uuid", "12345", "3f0e6b7e-0000-4000-8000-00000000000", "'%20OR%201=1", f"{missing}/approve"):
        refused(world, "GET", f"{world.review}/api/v1/reviews/{path}", who, 404, "not_found")
        refused(world, "POST", f"{world.review}/api/v1/reviews/{path}/accept", who, 404, "not_found", json={})
    refused(world, "GET", world.file_url(missing), who, 404, "not_found")
    for action, body in VALID_BODIES.items():
        refused(world, "POST", world.action_url(missing, action), who, 404, "not_found", json=body)
    refused(world, "GET", world.action_url(missing, "accept"), who, 405, "method_not_allowed")


QUEUE_PARAMS = [
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"limit": "²"}, "limit"),  # a digit to str.isdigit(), not to int()
    ({"offset": "-1"}, "offset"),
    ({"offset": "1.5"}, "offset"),
    ({"scope": "all"}, "scope"),
    ({"level": "province"}, "level"),
    ({"status": "done"}, "status"),
    ({"deadline": "late"}, "deadline"),
]


@pytest.mark.parametrize(("params", "field"), QUEUE_PARAMS, ids=[f"{f}={v[f]}" for v, f in QUEUE_PARAMS])
def test_bad_work_queue_filters_get_422(world: World, params, field) -> None:  # type: ignore[no-untyped-def]
    error = refused(
        world, "GET", f"{world.review}/api/v1/reviews", reviewer(UNIT), 422, "validation_failed", params=params
    )
    _vietnamese(error, field)


# --- Councils ------------------------------------------------------------------------------------------

# On Huế's council, which no other test uses: a wrongly accepted code must not change Hà Nội's councils.
BAD_COUNCIL_ROUTES = [
    ("GET", "/api/v1/councils/hn", "unit"),
    ("GET", "/api/v1/councils/HN_KL", "unit"),
    ("GET", "/api/v1/councils/HN%20KL", "unit"),
    ("GET", "/api/v1/councils/" + "H" * 65, "unit"),
    ("PUT", "/api/v1/councils/hn/members/hd-1", "unit"),
    ("PUT", "/api/v1/councils/1HN/members/hd-1", "unit"),
    ("PUT", "/api/v1/councils/H%C3%80/members/hd-1", "unit"),
    ("PUT", "/api/v1/councils/HUE%0A/members/hd-1", "unit"),
    ("PUT", "/api/v1/councils/HUE/members/-hd", "member_id"),
    ("PUT", "/api/v1/councils/HUE/members/hd%20moi", "member_id"),
    ("PUT", "/api/v1/councils/HUE/members/" + "m" * 129, "member_id"),
    ("PUT", "/api/v1/councils/HUE/members/hd-1%0A", "member_id"),
    ("PUT", "/api/v1/councils/HUE/members/th%C3%A0nh", "member_id"),
    ("DELETE", "/api/v1/councils/hn/members/hd-hue-1", "unit"),
    ("DELETE", "/api/v1/councils/HUE%0A/members/hd-hue-1", "unit"),
    ("DELETE", "/api/v1/councils/HUE/members/-hd", "member_id"),
    ("DELETE", "/api/v1/councils/HUE/members/" + "m" * 129, "member_id"),
]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    BAD_COUNCIL_ROUTES,
    ids=[f"{m}-{i}-{f}" for i, (m, _, f) in enumerate(BAD_COUNCIL_ROUTES)],
)
def test_invalid_unit_codes_and_member_ids_in_council_routes_get_422(world: World, method, path, field) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"json": {"role": "member"}} if method == "PUT" else {}
    error = refused(world, method, f"{world.review}{path}", READER, 422, "validation_failed", **kwargs)
    _vietnamese(error, field)


@pytest.mark.parametrize("body", [{"role": "boss"}, {"role": None}, {"role": "chair", "unit": "DNG"}, [], "chair"])
def test_bad_council_member_bodies_get_422(world: World, body) -> None:  # type: ignore[no-untyped-def]
    refused(
        world,
        "PUT",
        f"{world.review}/api/v1/councils/HN/members/hd-hn-9",
        ADMIN[TOP],
        422,
        "validation_failed",
        json=body,
    )


def test_councils_are_managed_only_by_their_own_unit_admin(world: World) -> None:
    outsiders = [
        ("reviewer of the unit", reviewer(TOP)),
        ("operator", token("operator", TOP)),
        ("member", token("member", TOP)),
        ("support team", token("support_team", TOP)),
        ("admin of a child unit", token("unit_admin", UPPER)),
        ("admin of the parent unit", token("unit_admin", NATIONAL)),
        ("admin of another top unit", token("unit_admin", "DNG")),
    ]
    for label, who in outsiders:
        for method in ("PUT", "DELETE"):
            url = f"{world.review}/api/v1/councils/{TOP}/members/hd-hn-1"
            kwargs = {"json": {"role": "chair"}} if method == "PUT" else {}
            error = refused(world, method, url, who, 403, "forbidden", **kwargs)
            assert error["message_vi"] != error["message_en"], label
    # The admin of HN may not manage the council of HN-KL below it either.
    refused(
        world, "PUT", f"{world.review}/api/v1/councils/{UPPER}/members/hd-kl-9", ADMIN[TOP], 403, "forbidden", json={}
    )
    council = requests.get(f"{world.review}/api/v1/councils/{TOP}", headers=READER, timeout=10).json()
    assert [m["member_id"] for m in council["items"]] == COUNCILS[TOP]
    refused(world, "DELETE", f"{world.review}/api/v1/councils/{TOP}/members/nobody", ADMIN[TOP], 404, "not_found")


def test_a_council_of_a_unit_served_elsewhere_is_refused(container_factory, make_config, review_db_url) -> None:  # type: ignore[no-untyped-def]
    """The Hà Nội deployment keeps Hà Nội's councils (and the national one), no other unit's."""
    config = make_config(review_db_url, "review", UNITS="HN")
    container = container_factory(ReviewService, config)
    container.start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    admin = token("national_admin", NATIONAL, "ad-tw")
    for unit in ("DNG", "DNG-KCN", "HNX", "HUE-C001"):
        url = f"{base}/api/v1/councils/{unit}/members/hd-1"
        before = (count(review_db_url, "council_members"), count(review_db_url, "audit_trail"))
        for method in ("PUT", "DELETE"):
            answer = requests.request(method, url, json={"role": "member"}, headers=admin, timeout=10)
            assert answer.status_code == 422, f"{method} {unit}: {answer.status_code} {answer.text}"
            error = answer.json()["error"]
            assert error["code"] == "validation_failed" and "unit" in error["fields"] and "unit" in error["fields_vi"]
        assert (count(review_db_url, "council_members"), count(review_db_url, "audit_trail")) == before
    for unit in ("HN", "HN-KL", NATIONAL):
        answer = requests.put(f"{base}/api/v1/councils/{unit}/members/hd-1", json={}, headers=admin, timeout=10)
        assert answer.status_code == 201, answer.text
    assert count(review_db_url, "council_members") == 3


# --- Tokens ----------------------------------------------------------------------------------------------


def _forged_tokens() -> list[tuple[str, str | None]]:
    now = int(time.time())
    secret = setting("JWT_SECRET")
    claims = {"sub": "rv", "role": "reviewer", "unit": UNIT, "exp": now + 600}
    return [
        ("none", None),
        ("not bearer", "Basic cnY6cnY="),
        ("garbage", "Bearer not.a.jwt"),
        ("empty bearer", "Bearer "),
        (
            "wrong key",
            "Bearer " + jwt.encode({**claims, "role": "national_admin", "unit": NATIONAL}, "k" * 40, "HS256"),
        ),
        ("expired", "Bearer " + jwt.encode({**claims, "exp": now - 5}, secret, "HS256")),
        ("no expiry", "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, "HS256")),
        ("unknown role", "Bearer " + jwt.encode({**claims, "role": "superuser"}, secret, "HS256")),
        ("no unit", "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "unit"}, secret, "HS256")),
        ("alg none", "Bearer " + jwt.encode({**claims, "role": "national_admin"}, None, "none")),
    ]


def test_missing_or_forged_tokens_get_401(world: World, items) -> None:  # type: ignore[no-untyped-def]
    initiative_id = items["received"]
    routes = [
        ("GET", f"{world.review}/api/v1/reviews", {}),
        ("GET", world.file_url(initiative_id), {}),
        ("POST", world.action_url(initiative_id, "accept"), {"json": {}}),
        ("POST", world.action_url(initiative_id, "corrections"), {"json": {"reason": "Bổ sung"}}),
        ("GET", f"{world.review}/api/v1/councils/{TOP}", {}),
        ("PUT", f"{world.review}/api/v1/councils/{TOP}/members/hd-hn-9", {"json": {}}),
        ("DELETE", f"{world.review}/api/v1/councils/{TOP}/members/hd-hn-1", {}),
    ]
    for label, authorization in _forged_tokens():
        headers = {"Authorization": authorization} if authorization else {}
        for method, url, kwargs in routes:
            answer_code = "token_expired" if label == "expired" else None
            try:
                refused(world, method, url, headers, 401, answer_code, initiative_id=initiative_id, **kwargs)
            except AssertionError as exc:
                raise AssertionError(f"token {label!r}: {exc}") from exc


# --- Certificates -------------------------------------------------------------------------------------

BAD_CODES = [
    "HN-AAAAAAAAAA",  # well-formed, unknown
    "hn-aaaaaaaaaa",
    "VGCL-HN-2026-000001",  # a certificate number is not its verification code
    "x",
    "HN-",
    "-",
    "HN-AAAA",
    "HN-" + "A" * 11,
    "A" * 2000,
    "HN-ĐĐĐĐĐĐĐĐĐĐ",
    "ß" * 40,
    "%25%25",
    "'%20OR%20'1'='1",
    "HN-AAAAAAAAAA%0A",
    "%F0%9F%98%80",
    "%FF%FE",
]


@pytest.mark.parametrize("code", BAD_CODES, ids=[f"{i}-{c[:20]}" for i, c in enumerate(BAD_CODES)])
def test_malformed_or_unknown_certificate_codes_get_404_json(world: World, code: str) -> None:
    refused(world, "GET", f"{world.review}/api/v1/certificates/{code}", None, 404, "not_found")
