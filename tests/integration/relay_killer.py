"""A relay that dies (SIGKILL) right after the broker confirmed a batch, before marking it."""

import os
import signal
import sys

from chassis.db import make_engine
from chassis.relay_runner import make_relay


def main(database_url: str, amqp_uri: str) -> None:
    relay = make_relay(make_engine(database_url, pool_size=1), amqp_uri, "submission")
    publish = relay.publisher.publish_batch

    def publish_then_die(messages):  # type: ignore[no-untyped-def]
        publish(messages)
        os.kill(os.getpid(), signal.SIGKILL)

    relay.publisher.publish_batch = publish_then_die  # type: ignore[method-assign]
    relay.drain()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
