"""Test configuration: development mode and eventlet first, then real PostgreSQL and RabbitMQ fixtures."""

import os

# Before any chassis setting is read. The tests mint HS256 development tokens, and every service
# process they start inherits this environment: outside development mode a service without
# JWT_JWKS_URL or JWT_PUBLIC_KEY refuses to start (tests of production mode set it themselves).
os.environ.setdefault("PLATFORM_MODE", "development")

import eventlet

import chassis  # noqa: F401 - quiets eventlet's deprecation banner before the import below

# nameko's pytest plugin no longer patches. The browser tests run in a pytest process of their own
# (PORTAL_BROWSER_TESTS=1) and must stay unpatched: Playwright's event loop does not survive it.
if os.environ.get("PORTAL_BROWSER_TESTS") != "1":
    eventlet.monkey_patch()

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from chassis.auth import issue_dev_token
from chassis.config import nameko_config
from chassis.db import drop_database as drop_temporary
from chassis.db import normalize_url, recreate_database

ROOT = Path(__file__).resolve().parents[1]
# Fixtures of real outside servers (SMTP, providers, webhooks) for notify's tests.
pytest_plugins = ["tests.integration.notify_fakes"]
ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")


def migrate(url: str, service: str = "submission") -> None:
    config = AlembicConfig(str(ROOT / f"services/{service}/alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


def seed(url: str) -> None:
    from sqlalchemy.orm import sessionmaker

    from chassis.db import make_engine
    from submission.seed import load_all

    engine = make_engine(url)
    with sessionmaker(bind=engine).begin() as session:
        load_all(session)
    engine.dispose()


def create_database(name: str) -> str:
    return recreate_database(ADMIN_URL, name)


def drop_database(name: str) -> None:
    drop_temporary(ADMIN_URL, name)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated and seeded PostgreSQL database for this test session."""
    name = f"sangkien_test_{os.getpid()}"
    url = create_database(name)
    migrate(url)
    seed(url)
    yield url
    drop_database(name)


MUTABLE_TABLES = (
    "idempotency_keys",
    "initiative_history",
    "initiative_authors",
    "initiatives",
    "members",
    "outbox",
    "inbox",
)
REVIEW_TABLES = (
    "similar_matches",
    "similarity_bands",
    "scorecards",
    "certificates",
    "certificate_series",
    "council_members",
    "audit_trail",
    "level_reviews",
    "cases",
    "outbox",
    "inbox",
)

AWARDS_TABLES = (
    "units",
    "targets",
    "members",
    "facts",
    "cells",
    "totals",
    "participants",
    "hourly",
    "rank_snapshots",
    "ledger",
    "certificate_series",
    "outbox",
    "inbox",
)

NOTIFY_TABLES = (
    "initiatives",
    "contacts",
    "messages",
    "deliveries",
    "webhook_subscriptions",
    "activity",
    "reminders",
    "outbox",
    "inbox",
)


def truncate(url: str, tables: tuple[str, ...] = MUTABLE_TABLES) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def db_url(pg_url: str) -> str:
    truncate(pg_url)
    return pg_url


def _service_database(service: str) -> Iterator[str]:
    """A service's own database for the test session: migrated, nothing seeded (it learns from events)."""
    name = f"sangkien_{service}_test_{os.getpid()}"
    url = create_database(name)
    migrate(url, service)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def review_pg_url() -> Iterator[str]:
    yield from _service_database("review")


@pytest.fixture
def review_db_url(review_pg_url: str) -> str:
    truncate(review_pg_url, REVIEW_TABLES)
    return review_pg_url


@pytest.fixture(scope="session")
def awards_pg_url() -> Iterator[str]:
    yield from _service_database("awards")


@pytest.fixture
def awards_db_url(awards_pg_url: str) -> str:
    truncate(awards_pg_url, AWARDS_TABLES)
    return awards_pg_url


@pytest.fixture(scope="session")
def notify_pg_url() -> Iterator[str]:
    yield from _service_database("notify")


@pytest.fixture
def notify_db_url(notify_pg_url: str) -> str:
    truncate(notify_pg_url, NOTIFY_TABLES)
    return notify_pg_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'submission.db'}"
    migrate(url)
    seed(url)
    truncate(url)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_config(rabbit_config):  # type: ignore[no-untyped-def]
    """nameko config for a service on this test's own RabbitMQ virtual host."""

    def build(db: str, service: str = "submission", **overrides: object) -> dict:
        return nameko_config(
            service,
            AMQP_URI=rabbit_config["AMQP_URI"],
            DATABASE_URL=db,
            WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}",
            **overrides,
        )

    return build


def token(role: str, unit: str, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(sub or f'{role}-{uuid.uuid4().hex[:6]}', role, unit)}"}
