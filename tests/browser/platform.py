"""The whole platform as real processes for the browser journeys: the identity provider, the
four services, the portal, on their own PostgreSQL databases and RabbitMQ virtual host."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pika
import requests

from tests.conftest import create_database, drop_database, free_port, migrate

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {
    "submission": "submission.service:SubmissionService",
    "review": "review.service:ReviewService",
    "awards": "awards.service:AwardsService",
    "notify": "notify.service:NotifyService",
    "portal": "portal.service:PortalService",
}
MANAGEMENT = "http://guest:guest@127.0.0.1:15672/api"


def wait_until(check, timeout: float, what: str, interval: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if check():
                return
        time.sleep(interval)
    raise AssertionError(f"{what} not within {timeout}s")


@dataclass
class Platform:
    logs: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ports: dict[str, int] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    common: dict[str, str] = field(default_factory=dict)  # every process's settings
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def vhost(self) -> str:
        return f"browser-{self.tag}"

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def portal(self) -> str:
        return self.url("portal")

    def _broker_open(self) -> bool:
        try:
            pika.BlockingConnection(pika.URLParameters(self.amqp_uri)).close()
            return True
        except pika.exceptions.AMQPError:
            return False

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("a")
        self.processes.append(
            subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        )

    def start(self) -> Platform:
        self.logs.mkdir(parents=True, exist_ok=True)
        # A busy broker answers its management API slowly: generous timeouts, then wait until the
        # new virtual host takes connections (the node starts it asynchronously).
        requests.put(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=60).raise_for_status()
        requests.put(
            f"{MANAGEMENT}/permissions/{self.vhost}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            timeout=60,
        ).raise_for_status()
        wait_until(self._broker_open, 60, f"virtual host {self.vhost}")
        for service in TARGETS:
            self.databases[service] = create_database(f"sangkien_browser_{service}_{self.tag}")
            migrate(self.databases[service], service)
            self.ports[service] = free_port()
        self.ports["idp"] = free_port()
        portal, idp = self.url("portal"), self.url("idp")
        self._spawn(
            "idp",
            ["node", "services/portal/idp/server.mjs"],
            {
                "IDP_PORT": str(self.ports["idp"]),
                "IDP_ISSUER": idp,
                "PORTAL_REDIRECT_URIS": f"{portal}/auth/callback",
                "PORTAL_POST_LOGOUT_REDIRECT_URIS": f"{portal}/",
            },
        )
        self.common = common = {
            "AMQP_URI": self.amqp_uri,
            "PLATFORM_MODE": "development",
            "JWT_JWKS_URL": f"{portal}/.well-known/jwks.json",
            "VAR_DIR": str(self.logs / "var"),
            "LOG_LEVEL": "WARNING",
            "CONSUMER_BATCH_WAIT_MS": "5",
            "NOTIFY_SWEEP_SECONDS": "3600",
            "DEADLINE_SWEEP_SECONDS": "3600",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        for service, target in TARGETS.items():
            env = {
                **common,
                f"{service.upper()}_DATABASE_URL": self.databases[service],
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.ports[service]}",
            }
            if service == "portal":
                env.update(
                    PORTAL_PUBLIC_URL=portal,
                    OIDC_ISSUER=idp,
                    UPSTREAM_SUBMISSION=self.url("submission"),
                    UPSTREAM_REVIEW=f"*={self.url('review')}",
                    UPSTREAM_AWARDS=self.url("awards"),
                    UPSTREAM_NOTIFY=self.url("notify"),
                )
            if service == "review":
                env["UNITS"] = "*"
            self._spawn(service, [sys.executable, "-m", "chassis.run", service, target], env)
        for name in ("portal", "submission", "review", "awards", "notify"):
            wait_until(
                lambda n=name: requests.get(f"{self.url(n)}/readyz", timeout=3).status_code == 200,
                90,
                f"{name} ready (see {self.logs}/{name}.log)",
            )
        wait_until(
            lambda: requests.get(f"{idp}/.well-known/openid-configuration", timeout=3).ok, 60, "the OIDC provider"
        )
        # The registry goes in once the consumers' queues exist: awards and notify learn it from events.
        subprocess.run(
            [sys.executable, "-m", "submission.cli", "seed"],
            env={**os.environ, **common, "SUBMISSION_DATABASE_URL": self.databases["submission"]},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        self.portal_cli("demo")
        return self

    def portal_cli(self, *args: str) -> None:
        """`python -m portal.cli ...` on this platform's portal database and registry."""
        subprocess.run(
            [sys.executable, "-m", "portal.cli", *args],
            env={
                **os.environ,
                **self.common,
                "PORTAL_DATABASE_URL": self.databases["portal"],
                "UPSTREAM_SUBMISSION": self.url("submission"),
            },
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def grant(self, person: str, role: str, unit: str) -> None:
        """A role grant as an operator gives one, for a journey that needs a stranger."""
        self.portal_cli("grant", "--person", person, "--role", role, "--unit", unit)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in list(self.databases):
            drop_database(f"sangkien_browser_{name}_{self.tag}")
        with contextlib.suppress(requests.RequestException):  # a broker that is down keeps a stray vhost
            requests.delete(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=60)
