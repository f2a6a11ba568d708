"""Authorisation matrix of submission, awards and notify: every endpoint × every role × own/other unit.

The table below is the specification, written from the platform's rules (chassis/auth.py: a role
acts inside its unit's subtree; members on what they authored; the national roles nationally), not
copied from the services' answers. Each endpoint names who may call it; every caller position runs
against data of the grassroots union HN-KL-C001 (under HN-KL, under HN, under VGCL). Review has its
own matrix in test_review_bad_input.py.

The three services run once for the module, on a vhost and databases of their own, wired as in
production: initiatives submitted over the API reach awards and notify through the broker.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from nameko.containers import get_container_cls

from awards.service import AwardsService
from chassis.config import nameko_config
from chassis.envelope import dumps
from notify.service import NotifyService
from submission.service import SubmissionService
from tests import event_factories as ev
from tests.conftest import create_database, drop_database, free_port, migrate, seed, token
from tests.factories import UNIT, initiative
from tests.integration.conftest import post, publish, rows, wait_for

# --- The callers --------------------------------------------------------------------------------------

# The caller's unit, relative to the data (which belongs to the grassroots union HN-KL-C001).
POSITIONS = {
    "own": UNIT,
    "upper": "HN-KL",
    "top": "HN",
    "national": "VGCL",
    "sibling": "HN-KL-C002",
    "other_top": "THO",
}
ON_PATH = ("own", "upper", "top", "national")  # the data's unit is in the caller's subtree
LOCAL_ROLES = ("member", "support_team", "reviewer", "unit_admin")
NATIONAL_ROLES = ("national_admin", "operator")  # the national office's roles: tokens for VGCL only
CALLERS = [(role, position) for role in LOCAL_ROLES for position in POSITIONS] + [
    (role, "national") for role in NATIONAL_ROLES
]
AUTHOR = "dv-an"  # the author of the initiatives; no caller of the matrix is them
HOOK_OWNER = "ad-hn"  # Hà Nội's admin, who subscribed Hà Nội's webhook


def caller(role: str, position: str) -> tuple[dict[str, str], str]:
    sub = f"{role}-{position}".replace("_", "-")
    return token(role, POSITIONS[position], sub), sub


def on_path(position: str) -> bool:
    return position in ON_PATH


def national(role: str) -> bool:
    return role in NATIONAL_ROLES


# --- The world ------------------------------------------------------------------------------------------


@dataclass
class World:
    submission: str
    awards: str
    notify: str
    amqp_uri: str
    awards_db: str
    notify_db: str
    ids: dict[str, str] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def sql(self, db: str, query: str, **params: Any) -> list[dict[str, Any]]:
        return rows(db, query, **params)

    def submit(self) -> str:
        """A fresh initiative of HN-KL-C001 by its author."""
        answer = post(f"{self.submission}/api/v1/initiatives", initiative(), token("member", UNIT, AUTHOR))
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def unpaid(self) -> str:
        """A remuneration installment of HN-KL-C001 nobody has marked paid yet (one per caller who may)."""
        entries = self.sql(
            self.awards_db,
            "SELECT id FROM ledger WHERE recipient_unit = :u AND amount_vnd IS NOT NULL AND paid_at IS NULL"
            " ORDER BY id",
            u=UNIT,
        )
        assert entries, "the world ran out of unpaid installments"
        return str(entries[0]["id"])


def _recognised(amqp_uri: str) -> None:
    """Two initiatives of HN-KL-C001 recognised: remuneration installments in awards' ledger."""
    for _ in range(2):
        submitted = ev.submitted(
            UNIT,
            benefit_vnd_per_year=240_000_000,
            authors=[{"member_id": AUTHOR, "share_percent": 100.0}],
            submitted_by={"member_id": AUTHOR, "role": "member"},
        )
        publish(amqp_uri, "submission.events", ev.routing_key(submitted), dumps(submitted))
        recognized = ev.recognized(submitted)
        publish(amqp_uri, "review.events", ev.routing_key(recognized), dumps(recognized))


@pytest.fixture(scope="module")
def world(request, vhost_pipeline) -> Iterator[World]:  # type: ignore[no-untyped-def]
    broker = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    name = f"sangkien_authz_{os.getpid()}"
    names = {service: f"{name}_{service}" for service in ("submission", "awards", "notify")}
    dbs = {service: create_database(db_name) for service, db_name in names.items()}
    containers = []
    try:
        for service, db in dbs.items():
            migrate(db, service)
        seed(dbs["submission"])
        with vhost_pipeline.get() as vhost:
            amqp_uri = f"{broker.scheme}://{broker.netloc}/{vhost}"
            urls = {}
            for service, cls, extra in (
                ("submission", SubmissionService, {}),
                ("awards", AwardsService, {"UNITS": "*", "RANKINGS_CACHE_SECONDS": 0}),
                (
                    "notify",
                    NotifyService,
                    {
                        "UNITS": "*",
                        "WEBHOOK_ALLOW_PRIVATE": "on",
                        "NOTIFY_POLL_SECONDS": 0.1,
                        "NOTIFY_RETRY_BASE_SECONDS": 0.1,
                        "NOTIFY_MAX_ATTEMPTS": 1,
                    },
                ),
            ):
                address = f"127.0.0.1:{free_port()}"
                config = nameko_config(
                    service, AMQP_URI=amqp_uri, DATABASE_URL=dbs[service], WEB_SERVER_ADDRESS=address, **extra
                )
                containers.append(get_container_cls(config)(cls, config))
                containers[-1].start()
                urls[service] = f"http://{address}"
            built = World(urls["submission"], urls["awards"], urls["notify"], amqp_uri, dbs["awards"], dbs["notify"])
            _furnish(built)
            yield built
    finally:
        for container in containers:
            container.kill()
        for db_name in names.values():
            drop_database(db_name)


def _furnish(world: World) -> None:
    """The data the matrix acts on."""
    # Submission: one initiative and one registered member of HN-KL-C001.
    world.ids["initiative"] = world.submit()
    member = {"member_id": "dv-target", "full_name": "Lê Thị Đích", "unit": UNIT, "email": "dich@example.vn"}
    assert post(f"{world.submission}/api/v1/members", member, token("support_team", UNIT)).status_code == 201
    # Notify: Hà Nội's webhook (to a closed port: its deliveries park), then an initiative to announce.
    hook = post(
        f"{world.notify}/api/v1/webhooks",
        {
            "url": "http://127.0.0.1:9/hook",
            "secret": "s" * 20,
            "event_types": ["initiative.submitted"],
            "units": ["HN"],
        },
        token("unit_admin", "HN", HOOK_OWNER),
    )
    assert hook.status_code == 201, hook.text
    world.ids["hook"] = hook.json()["id"]
    world.submit()
    inbox = f"{world.notify}/api/v1/inbox"
    reviewers = token("reviewer", UNIT, "rv-x")
    wait_for(lambda: requests.get(inbox, headers=reviewers, timeout=5).json()["total"] >= 2, timeout=30)
    world.ids["mailbox_message"] = requests.get(inbox, headers=reviewers, timeout=5).json()["items"][0]["id"]
    world.ids["author_message"] = requests.get(inbox, headers=token("member", UNIT, AUTHOR), timeout=5).json()["items"][
        0
    ]["id"]
    wait_for(
        lambda: world.sql(
            world.notify_db, "SELECT id FROM deliveries WHERE recipient = :r", r=f"webhook:{world.ids['hook']}"
        )
    )
    world.ids["delivery"] = str(
        world.sql(world.notify_db, "SELECT id FROM deliveries WHERE recipient = :r", r=f"webhook:{world.ids['hook']}")[
            0
        ]["id"]
    )
    # Awards: the registry, then two recognitions.
    for code in ("VGCL", "HN", "HN-KL", UNIT, "HN-KL-C002", "THO"):
        event = ev.unit_registered(code)
        publish(world.amqp_uri, "submission.events", ev.routing_key(event), dumps(event))
    _recognised(world.amqp_uri)
    wait_for(
        lambda: (
            len(
                world.sql(
                    world.awards_db,
                    "SELECT id FROM ledger WHERE amount_vnd IS NOT NULL AND recipient_unit = :u",
                    u=UNIT,
                )
            )
            >= 6
        ),
        timeout=30,
    )
    wait_for(lambda: len(world.sql(world.awards_db, "SELECT code FROM units")) >= 6, timeout=30)


# --- The specification ----------------------------------------------------------------------------------

Expected = int | tuple[int, ...]


@dataclass(frozen=True)
class Endpoint:
    name: str
    call: Callable[[World, dict[str, str], str], requests.Response]
    expect: Callable[[str, str], Expected]  # (role, position) -> status(es)
    check: Callable[[World, requests.Response, str, str], None] | None = None  # what the answer shows


def _get(
    base: Callable[[World], str], path: str, **params: Any
) -> Callable[[World, dict[str, str], str], requests.Response]:
    def call(world: World, who: dict[str, str], sub: str) -> requests.Response:
        return requests.get(f"{base(world)}{path.format(**world.ids)}", params=params, headers=who, timeout=10)

    return call


def _send(
    method: str, base: Callable[[World], str], path: str, body: Callable[[World, str], Any] | None = None, **params: Any
) -> Callable[[World, dict[str, str], str], requests.Response]:
    def call(world: World, who: dict[str, str], sub: str) -> requests.Response:
        payload = body(world, sub) if body else {}
        return requests.request(
            method, f"{base(world)}{path.format(**world.ids)}", json=payload, params=params, headers=who, timeout=10
        )

    return call


def SUB(w: World) -> str:  # short names keep the table below readable
    return w.submission


def AW(w: World) -> str:
    return w.awards


def NO(w: World) -> str:
    return w.notify


def everyone(role: str, position: str) -> Expected:
    return 200


# Submission --------------------------------------------------------------------------------------------

SUBMITTERS = ("member", "support_team")
CHANGERS = ("support_team", "unit_admin", "national_admin")
MEMBER_READERS = ("support_team", "unit_admin", "national_admin")
REGISTRARS = ("unit_admin", "national_admin")


def submit_rule(role: str, position: str) -> Expected:
    return 201 if role in SUBMITTERS and on_path(position) else 403


def list_rule(role: str, position: str) -> Expected:
    return 200 if role == "member" or on_path(position) else 403  # a member lists their own, anywhere


def read_rule(role: str, position: str) -> Expected:
    return 200 if role != "member" and on_path(position) else 404  # never says it exists


def change_rule(allowed: int) -> Callable[[str, str], Expected]:
    def rule(role: str, position: str) -> Expected:
        if role == "member" or not on_path(position):
            return 404
        return allowed if role in CHANGERS else 403  # reviewers judge, operators run: neither withdraws

    return rule


def list_check(world: World, answer: requests.Response, role: str, position: str) -> None:
    listed = {i["id"] for i in answer.json()["items"]}
    assert (world.ids["initiative"] in listed) == (role != "member"), listed


def fresh_withdraw(world: World, who: dict[str, str], sub: str) -> requests.Response:
    initiative_id = world.submit()
    return post(f"{world.submission}/api/v1/initiatives/{initiative_id}/withdraw", {"reason": "Rút"}, who)


def register_member_rule(role: str, position: str) -> Expected:
    if role == "member":  # registering oneself
        return 201 if on_path(position) else 403
    return 201 if role in MEMBER_READERS and on_path(position) else 403


def member_body(world: World, sub: str) -> dict[str, Any]:
    member_id = sub if sub.startswith("member-") else f"dv-{sub}-{next(world.counter)}"
    return {"member_id": member_id, "full_name": "Đoàn viên mới", "unit": UNIT}


def unit_body(world: World, sub: str) -> dict[str, Any]:
    code = f"HN-KL-M{next(world.counter):03d}"
    return {
        "code": code,
        "name": f"Công đoàn cơ sở {code}",
        "level": "grassroots",
        "parent": "HN-KL",
        "block": "enterprise",
    }


def bulk(world: World, who: dict[str, str], sub: str) -> requests.Response:
    template = requests.get(f"{world.submission}/api/v1/initiatives/bulk/template.csv", timeout=10).content
    row = next(csv.DictReader(io.StringIO(template.decode("utf-8-sig"))))
    row.update(unit=UNIT, title=f"Nhập hàng loạt {uuid.uuid4().hex[:8]}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    headers = {**who, "Content-Type": "text/csv"}
    return requests.post(
        f"{world.submission}/api/v1/initiatives/bulk", data=out.getvalue().encode(), headers=headers, timeout=30
    )


def bulk_check(world: World, answer: requests.Response, role: str, position: str) -> None:
    result = answer.json()
    assert result["accepted"] == (1 if on_path(position) else 0), result  # a row outside the subtree is refused


SUBMISSION = [
    Endpoint(
        "submission.submit",
        _send(
            "POST",
            SUB,
            "/api/v1/initiatives",
            lambda w, sub: initiative(authors=[{"name": "Tác giả", "member_id": sub, "share_percent": 100}]),
        ),
        submit_rule,
    ),
    Endpoint("submission.list", _get(SUB, "/api/v1/initiatives", unit=UNIT, limit=200), list_rule, list_check),
    Endpoint("submission.read", _get(SUB, "/api/v1/initiatives/{initiative}"), read_rule),
    Endpoint("submission.withdraw", fresh_withdraw, change_rule(200)),
    Endpoint(
        "submission.resubmit",
        _send("POST", SUB, "/api/v1/initiatives/{initiative}/resubmit", lambda w, s: CONTENT),
        change_rule(409),
    ),
    Endpoint(
        "submission.bulk",
        bulk,
        lambda r, p: 200 if r == "support_team" else 403,
        lambda w, a, r, p: bulk_check(w, a, r, p),
    ),
    Endpoint("submission.register_member", _send("POST", SUB, "/api/v1/members", member_body), register_member_rule),
    Endpoint(
        "submission.list_members",
        _get(SUB, "/api/v1/members", unit=UNIT),
        lambda r, p: 200 if r in MEMBER_READERS and on_path(p) else 403,
    ),
    Endpoint(
        "submission.read_member",
        _get(SUB, "/api/v1/members/dv-target"),
        lambda r, p: 200 if r in MEMBER_READERS and on_path(p) else 404,
    ),
    Endpoint(
        "submission.register_target",
        _send(
            "PUT",
            SUB,
            "/api/v1/targets",
            lambda w, s: {"unit": UNIT, "programme": "LDST2026", "phase": "P1", "block": "enterprise", "target": 40},
        ),
        lambda r, p: 200 if r in REGISTRARS and on_path(p) else 403,
    ),
    # The new unit's parent is HN-KL: HN-KL-C001's admin is not above it.
    Endpoint(
        "submission.register_unit",
        _send("POST", SUB, "/api/v1/units", unit_body),
        lambda r, p: 201 if r in REGISTRARS and p in ("upper", "top", "national") else 403,
    ),
    # The registry and the import template are public.
    Endpoint("submission.units", _get(SUB, "/api/v1/units", top="HN"), everyone),
    Endpoint("submission.unit", _get(SUB, f"/api/v1/units/{UNIT}"), everyone),
    Endpoint("submission.programmes", _get(SUB, "/api/v1/programmes"), everyone),
    Endpoint("submission.programme", _get(SUB, "/api/v1/programmes/LDST2026"), everyone),
    Endpoint("submission.targets", _get(SUB, "/api/v1/targets", unit=UNIT), everyone),
    Endpoint("submission.template", _get(SUB, "/api/v1/initiatives/bulk/template.csv"), everyone),
]

CONTENT = {k: v for k, v in initiative().items() if k not in ("unit", "programme")}  # a resubmission's body

# Awards ------------------------------------------------------------------------------------------------

P = {"programme": "LDST2026"}


def ledger_check(world: World, answer: requests.Response, role: str, position: str) -> None:
    """A member sees what they receive; a unit's roles their subtree's entries; the national roles all."""
    units = {i["recipient_unit"] for i in answer.json()["items"]}
    visible = national(role) or (role != "member" and on_path(position))
    assert (UNIT in units) == visible, (role, position, units)


def paid(world: World, who: dict[str, str], sub: str) -> requests.Response:
    return requests.post(f"{world.awards}/api/v1/ledger/{world.unpaid()}/paid", headers=who, timeout=10)


def report_rule(role: str, position: str) -> Expected:
    if role == "member":
        return 403
    return 200 if national(role) or on_path(position) else 403


AWARDS = [
    Endpoint("awards.rankings", _get(AW, "/api/v1/rankings", **P), everyone),
    Endpoint("awards.standing", _get(AW, f"/api/v1/standings/{UNIT}", **P), everyone),
    Endpoint("awards.history", _get(AW, "/api/v1/standings/HN/history", **P), everyone),
    Endpoint("awards.targets", _get(AW, "/api/v1/targets", **P), everyone),
    Endpoint("awards.chart", _get(AW, "/api/v1/charts/progress.png", unit=UNIT, **P), everyone),
    Endpoint("awards.ledger", _get(AW, "/api/v1/ledger", limit=500), everyone, ledger_check),
    Endpoint(
        "awards.mark_paid",
        paid,
        lambda r, p: 200 if r == "national_admin" or (r == "unit_admin" and on_path(p)) else 403,
    ),
    Endpoint(
        "awards.snapshot", _send("POST", AW, "/api/v1/rankings/snapshots"), lambda r, p: 201 if national(r) else 403
    ),
    Endpoint(
        "awards.run_rules",
        _send("POST", AW, "/api/v1/award-runs", lambda w, s: {"programme": "LDST2026", "period": "2026"}),
        lambda r, p: (200, 201) if national(r) else 403,
    ),
    Endpoint("awards.report", _get(AW, f"/api/v1/reports/{UNIT}", period="2026", **P), report_rule),
    Endpoint("awards.open_data", _get(AW, "/api/v1/exports/open-data.csv", **P), everyone),
]

# Notify ------------------------------------------------------------------------------------------------

MAILBOX = f"reviewer@{UNIT}"


def inbox_check(world: World, answer: requests.Response, role: str, position: str) -> None:
    ids = {i["id"] for i in answer.json()["items"]}
    assert (world.ids["mailbox_message"] in ids) == (role == "reviewer" and position == "own"), ids
    assert world.ids["author_message"] not in ids


def mailbox_rule(role: str, position: str) -> Expected:
    return 200 if national(role) or (role == "unit_admin" and position == "own") else 403


def hook_rule(role: str, position: str) -> Expected:
    if national(role):
        return 200
    return 404 if role == "unit_admin" else 403  # another admin's subscription is not shown to them


def webhooks_check(world: World, answer: requests.Response, role: str, position: str) -> None:
    ids = {s["id"] for s in answer.json()}
    assert (world.ids["hook"] in ids) == national(role), ids


PREFS = {"language": "en", "channels": []}
HOOK = {
    "url": "https://hooks.example.vn/nhan",
    "secret": "t" * 20,
    "event_types": ["initiative.submitted"],
    "units": ["HN"],
}

NOTIFY = [
    Endpoint("notify.inbox", _get(NO, "/api/v1/inbox", limit=200), everyone, inbox_check),
    Endpoint(
        "notify.read_mailbox_message",
        _send("POST", NO, "/api/v1/inbox/{mailbox_message}/read"),
        lambda r, p: 204 if r == "reviewer" and p == "own" else 404,
    ),
    Endpoint("notify.read_authors_message", _send("POST", NO, "/api/v1/inbox/{author_message}/read"), lambda r, p: 404),
    Endpoint("notify.read_all", _send("POST", NO, "/api/v1/inbox/read-all"), everyone),
    Endpoint("notify.own_preferences", _get(NO, "/api/v1/preferences"), everyone),
    Endpoint("notify.set_own_preferences", _send("PUT", NO, "/api/v1/preferences", lambda w, s: PREFS), everyone),
    Endpoint("notify.mailbox_preferences", _get(NO, "/api/v1/preferences", mailbox=MAILBOX), mailbox_rule),
    Endpoint(
        "notify.set_mailbox_preferences",
        _send("PUT", NO, "/api/v1/preferences", lambda w, s: PREFS, mailbox=MAILBOX),
        mailbox_rule,
    ),
    Endpoint(
        "notify.subscribe_hn",
        _send("POST", NO, "/api/v1/webhooks", lambda w, s: HOOK),
        lambda r, p: 201 if national(r) or (r == "unit_admin" and p == "top") else 403,
    ),
    Endpoint(
        "notify.webhooks",
        _get(NO, "/api/v1/webhooks"),
        lambda r, p: 200 if national(r) or r == "unit_admin" else 403,
        lambda w, a, r, p: webhooks_check(w, a, r, p) if a.status_code == 200 else None,
    ),
    Endpoint("notify.disable_hn_hook", _send("POST", NO, "/api/v1/webhooks/{hook}/disable"), hook_rule),
    Endpoint("notify.hn_hook_deliveries", _get(NO, "/api/v1/webhooks/{hook}/deliveries"), hook_rule),
    Endpoint("notify.deliveries", _get(NO, "/api/v1/deliveries"), lambda r, p: 200 if national(r) else 403),
    Endpoint(
        "notify.replay",
        _send("POST", NO, "/api/v1/deliveries/{delivery}/replay"),
        lambda r, p: (200, 409) if national(r) else (404 if r == "unit_admin" else 403),
    ),
]

ENDPOINTS = {e.name: e for e in (*SUBMISSION, *AWARDS, *NOTIFY)}
MATRIX = [(name, role, position) for name in ENDPOINTS for role, position in CALLERS]


@pytest.mark.parametrize(("endpoint", "role", "position"), MATRIX, ids=["-".join(case) for case in MATRIX])
def test_authorisation_matrix(world: World, endpoint: str, role: str, position: str) -> None:
    spec = ENDPOINTS[endpoint]
    who, sub = caller(role, position)
    expected = spec.expect(role, position)
    statuses = expected if isinstance(expected, tuple) else (expected,)
    answer = spec.call(world, who, sub)
    assert answer.status_code in statuses, f"{answer.status_code}, not {statuses}: {answer.text[:400]}"
    if answer.status_code >= 400:
        error = answer.json()["error"]
        assert error["message_vi"] and error["message_en"] and error["message_vi"] != error["message_en"], error
    elif spec.check is not None:
        spec.check(world, answer, role, position)


# --- Owners: what the matrix's callers are not ---------------------------------------------------------


def test_the_author_reads_and_withdraws_their_own_initiative(world: World) -> None:
    author = token("member", UNIT, AUTHOR)
    initiative_id = world.submit()
    assert (
        requests.get(f"{world.submission}/api/v1/initiatives/{initiative_id}", headers=author, timeout=10).status_code
        == 200
    )
    listed = requests.get(f"{world.submission}/api/v1/initiatives", params={"limit": 200}, headers=author, timeout=10)
    assert initiative_id in {i["id"] for i in listed.json()["items"]}
    withdrawn = post(f"{world.submission}/api/v1/initiatives/{initiative_id}/withdraw", {"reason": "Rút"}, author)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    # Another member, even of the same union, does not see it.
    assert (
        requests.get(
            f"{world.submission}/api/v1/initiatives/{initiative_id}",
            headers=token("member", UNIT, "dv-khac"),
            timeout=10,
        ).status_code
        == 404
    )


def test_a_member_reads_their_own_record_ledger_and_messages(world: World) -> None:
    self_read = requests.get(
        f"{world.submission}/api/v1/members/dv-target", headers=token("member", UNIT, "dv-target"), timeout=10
    )
    assert self_read.status_code == 200 and self_read.json()["email"] == "dich@example.vn"
    author = token("member", UNIT, AUTHOR)
    ledger = requests.get(f"{world.awards}/api/v1/ledger", params={"limit": 500}, headers=author, timeout=10).json()
    assert ledger["items"] and {i["recipient_member"] for i in ledger["items"]} == {AUTHOR}
    message = world.ids["author_message"]
    assert requests.post(f"{world.notify}/api/v1/inbox/{message}/read", headers=author, timeout=10).status_code == 204


def test_the_webhooks_owner_manages_it(world: World) -> None:
    owner = token("unit_admin", "HN", HOOK_OWNER)
    listed = requests.get(f"{world.notify}/api/v1/webhooks", headers=owner, timeout=10).json()
    assert world.ids["hook"] in {s["id"] for s in listed}
    deliveries = requests.get(
        f"{world.notify}/api/v1/webhooks/{world.ids['hook']}/deliveries", headers=owner, timeout=10
    )
    assert deliveries.status_code == 200 and deliveries.json()["total"] >= 1
    replay = requests.post(
        f"{world.notify}/api/v1/deliveries/{world.ids['delivery']}/replay", headers=owner, timeout=10
    )
    assert replay.status_code in (200, 409), replay.text
    assert (
        requests.post(f"{world.notify}/api/v1/webhooks/{world.ids['hook']}/disable", headers=owner, timeout=10).json()[
            "active"
        ]
        is False
    )
