"""`python -m chassis.run SERVICE module:Class`: run one service process, configured from the env."""

from __future__ import annotations

import eventlet

import chassis  # noqa: F401 - quiets eventlet's deprecation banner before the import below

eventlet.monkey_patch()  # before anything opens a socket

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from nameko.cli.run import run  # noqa: E402

from chassis.auth import AuthConfigurationError, check_auth_settings  # noqa: E402
from chassis.config import nameko_config  # noqa: E402
from chassis.http import Auth  # noqa: E402


def verifies_tokens(service_cls: type) -> bool:
    """Whether the service has the bearer-token `Auth` dependency (the portal, say, has its own)."""
    return any(isinstance(value, Auth) for cls in service_cls.__mro__ for value in vars(cls).values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="service name (selects <SERVICE>_DATABASE_URL)")
    parser.add_argument("target", help="module:ServiceClass")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Expected API errors (4xx) are answered, not worth a traceback each.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
    module, _, cls_name = args.target.partition(":")
    service_cls = getattr(importlib.import_module(module), cls_name)
    try:  # before the container starts: one line on stderr, not a traceback
        if verifies_tokens(service_cls):
            check_auth_settings()
        if hasattr(service_cls, "check_settings"):  # a service's own keys and secrets (the portal's)
            service_cls.check_settings()
    except AuthConfigurationError as exc:
        sys.exit(f"{args.service}: refusing to start: {exc}")
    run([service_cls], nameko_config(args.service))


if __name__ == "__main__":
    main()
