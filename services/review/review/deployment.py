"""Which top-level units this deployment serves (UNIT, or UNITS with UNITS_EXCLUDE)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from chassis.handler import parse_units, top_unit_codes
from chassis.metrics import service_label
from chassis.validation import FieldError, validation_failed

NATIONAL = "VGCL"


def serves(units: list[str], unit: str) -> bool:
    """A unit code belongs to the top unit before its first hyphen (HN-KL-C001 -> HN).

    The national council exists in every deployment: each keeps its own top units' rows.
    """
    served = top_unit_codes() if units == ["*"] else units
    return unit == NATIONAL or unit.split("-", 1)[0] in served


class DeploymentInfo:
    def __init__(self, instance: str, units: list[str]) -> None:
        self.instance = instance
        self.units = units

    def check_serves(self, unit: str) -> None:
        if not serves(self.units, unit):
            raise validation_failed(
                [
                    FieldError(
                        "unit",
                        f"Unit {unit} is served by another review deployment, not {self.instance}.",
                        f"Đơn vị {unit} do một triển khai xét duyệt khác phục vụ, không phải {self.instance}.",
                    )
                ]
            )


class Deployment(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.info = DeploymentInfo(
            service_label(self.container), parse_units(config.get("UNITS", "*"), config.get("UNITS_EXCLUDE", ""))
        )

    def get_dependency(self, worker_ctx) -> DeploymentInfo:  # type: ignore[no-untyped-def]
        return self.info
