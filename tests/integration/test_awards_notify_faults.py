"""Awards and notify processes killed with SIGKILL mid-backlog: every event has exactly one effect."""

from __future__ import annotations

from tests import event_factories as ev
from tests.integration.conftest import count, rows, wait_for
from tests.integration.killing import finish, kill_midway, publish_all, queue_exists, start

EVENTS = 300


def backlog() -> list[dict]:
    units = ["HN-KL-C002", "HN-KCN-C001", "THO-KKT-C001"]
    return [
        ev.submitted(units[i % 3], authors=[{"member_id": f"dv-{i % 40}", "share_percent": 100.0}])
        for i in range(EVENTS)
    ]


def test_awards_killed_mid_backlog_counts_every_initiative_once(awards_db_url, rabbit_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    amqp_uri, log = rabbit_config["AMQP_URI"], tmp_path / "awards.log"
    # Small batches: a whole batch of 200 could handle the backlog before the kill could land.
    first = start("awards", "awards.service:AwardsService", awards_db_url, amqp_uri, log, CONSUMER_BATCH_SIZE="20")
    wait_for(lambda: queue_exists(rabbit_config["vhost"], "awards.initiative.submitted"), timeout=30)
    events = backlog()
    publish_all(amqp_uri, events + events[:40], "submission.events")
    kill_midway(first, awards_db_url, 50, EVENTS)
    finish(start("awards", "awards.service:AwardsService", awards_db_url, amqp_uri, log), awards_db_url, EVENTS)
    assert count(awards_db_url, "facts") == EVENTS
    national = f"WHERE unit = 'VGCL' AND phase = '*' AND submitted = {EVENTS} AND participants = 40"
    assert count(awards_db_url, "totals", national) == 1
    assert count(awards_db_url, "totals", "WHERE unit = 'HN' AND phase = '*' AND submitted = 200") == 1


def test_notify_killed_mid_backlog_one_message_per_recipient_and_every_email(  # type: ignore[no-untyped-def]
    notify_db_url, rabbit_config, tmp_path, smtp
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text

    from chassis.db import normalize_url

    engine = create_engine(normalize_url(notify_db_url))
    with engine.begin() as conn:  # each author chose e-mail
        conn.execute(
            text(
                "INSERT INTO contacts (recipient, email, language, channels, digest, updated_by, updated_at) "
                "VALUES (:r, :e, 'vi', '[\"email\"]', true, 'test', :t)"
            ),
            [{"r": f"member:dv-{i}", "e": f"dv-{i}@example.vn", "t": datetime.now(UTC)} for i in range(40)],
        )
    engine.dispose()
    amqp_uri, log = rabbit_config["AMQP_URI"], tmp_path / "notify.log"
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "NOTIFY_POLL_SECONDS": "0.1",
        "NOTIFY_RATES": "email=500,zalo=1,sms=1,webhook=1",
        "NOTIFY_LEASE_SECONDS": "3",  # what the killed replica had claimed is sent again after this
        # A loaded machine may refuse an SMTP connection now and then: retry soon, and long enough.
        "NOTIFY_RETRY_BASE_SECONDS": "0.2",
        "NOTIFY_RETRY_MAX_SECONDS": "2",
        "NOTIFY_MAX_ATTEMPTS": "50",
        "CONSUMER_BATCH_SIZE": "20",  # batches of 200 could handle the backlog before the kill lands
    }
    first = start("notify", "notify.service:NotifyService", notify_db_url, amqp_uri, log, **settings)
    wait_for(lambda: queue_exists(rabbit_config["vhost"], "notify.initiative.submitted"), timeout=30)
    events = backlog()
    publish_all(amqp_uri, events + events[:40], "submission.events")
    kill_midway(first, notify_db_url, 50, EVENTS)
    second = start("notify", "notify.service:NotifyService", notify_db_url, amqp_uri, log, **settings)
    try:
        wait_for(lambda: count(notify_db_url, "deliveries", "WHERE status = 'sent'") == EVENTS, timeout=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {delivery_states(notify_db_url)}") from exc
    finally:  # never leave a notify behind: it would claim the next tests' deliveries
        finish(second, notify_db_url, EVENTS)
    # One inbox message per event and recipient (author, submitter, the unit's reviewers); one e-mail row each.
    assert count(notify_db_url, "messages") == 3 * EVENTS
    assert count(notify_db_url, "deliveries") == EVENTS
    # E-mail is at least once: only the batch in flight at the kill (at most 100) may arrive twice,
    # with the same Message-ID.
    ids = [m["Message-ID"] for m in smtp.messages()]
    assert len(set(ids)) == EVENTS and len(ids) - EVENTS <= 100


def delivery_states(db_url: str) -> list[dict]:
    """What the deliveries look like when they did not all go out: for the failure message."""
    return rows(
        db_url,
        "SELECT status, attempts, min(last_error) AS last_error, count(*) AS n FROM deliveries"
        " GROUP BY status, attempts ORDER BY 1, 2",
    )
