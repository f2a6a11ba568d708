"""SQLAlchemy 2 engines and the nameko database dependency (a session per worker)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from chassis import outbox

_green_patched = False


def _make_psycopg2_green() -> None:
    """psycopg2 blocks in C; under eventlet this hands its waits to the hub."""
    global _green_patched
    if _green_patched:
        return
    from eventlet import patcher

    if patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    _green_patched = True


def normalize_url(url: str) -> str:
    """Plain `postgresql://` means psycopg2 here: the driver psycogreen makes eventlet-safe."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


POOL_EXTRA = 6
# psycopg2 sends these with its BEGIN; the pool resets them when the connection returns.
READ_SNAPSHOT = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
POOL_TIMEOUT_SECONDS = 5


def make_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # One connection: SQLite's own lock waits would block the whole eventlet hub,
        # while waiting for the pooled connection is a green wait.
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    _make_psycopg2_green()
    # A worker holds one connection at a time; the few extra are for the relay, timers and
    # dispatch loops. Doubling the pool per process ran PostgreSQL out of connections with
    # seven processes under peak load.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=POOL_EXTRA,
        pool_timeout=POOL_TIMEOUT_SECONDS,  # then 503 + Retry-After: shorter than a client's patience
        # A round trip per checkout (~10 % of a request's CPU), kept: a connection cut while pooled
        # is replaced unseen, where pinging only idle ones answered the next request 503.
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def recreate_database(admin_url: str, name: str) -> str:
    """Drops and creates database `name` on the server of `admin_url`; returns its URL."""
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(admin_url: str, *statements: str) -> None:
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def unavailable(exc: BaseException | None) -> bool:
    """Whether a failure means the database is down or saturated, not that the event is wrong."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class Db:
    """What a worker gets: a session factory with explicit transactions.

    Transactions are committed inside the entrypoint, before nameko acks a message
    or answers a request (nameko runs `worker_result` only after that).
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._sessions: list[Session] = []

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._factory()
        self._sessions.append(session)
        try:
            with session.begin():
                yield session
            outbox.committed(session)  # after the commit, never before: wake the relays
        finally:
            session.close()
            self._sessions.remove(session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One snapshot for every statement of a read: an initiative and its history, loaded by
        two queries, never straddle a consumer's commit (a status behind its own timeline)."""
        session = self._factory()
        try:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options=READ_SNAPSHOT)
            yield session
        finally:
            session.close()

    def close(self) -> None:
        for session in list(self._sessions):
            session.close()
        self._sessions.clear()

    @property
    def engine(self) -> Engine:
        bind = self._factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind


class Database(DependencyProvider):
    """Injects a `Db`; the engine comes from the `DATABASE_URL` config key."""

    def setup(self) -> None:
        url = self.container.config["DATABASE_URL"]
        self.engine = make_engine(url, pool_size=int(self.container.config.get("max_workers", 10)))
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._dbs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx):  # type: ignore[no-untyped-def]
        db = Db(self.factory)
        self._dbs[worker_ctx] = db
        return db

    def worker_teardown(self, worker_ctx) -> None:  # type: ignore[no-untyped-def]
        db = self._dbs.pop(worker_ctx, None)
        if db is not None:
            db.close()


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC both ways: SQLite stores naive values and would return them naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def service_metadata() -> MetaData:
    """A service's own MetaData, with constraint names Alembic can find again."""
    return MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
