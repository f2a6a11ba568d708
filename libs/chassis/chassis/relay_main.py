"""`python -m chassis.relay_main SERVICE`: the outbox relay of a service as its own process."""

from __future__ import annotations

import argparse
import logging

from chassis.config import database_url, setting
from chassis.relay_runner import run_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="service whose outbox to relay, e.g. submission")
    parser.add_argument("--once", action="store_true", help="drain what is pending, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_forever(database_url(args.service), setting("AMQP_URI"), args.service, once=args.once)


if __name__ == "__main__":
    main()
