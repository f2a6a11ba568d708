"""Vietnamese names of codes that reports print (the submission service's catalogue, as events carry codes)."""

from __future__ import annotations

from chassis.contracts import vocabulary

TARGET_GROUPS: dict[int, str] = vocabulary()["target_groups"]
FIELDS: dict[str, str] = vocabulary()["fields"]
LEDGER_KINDS = {
    "certificate_of_merit": "Bằng khen",
    "bonus": "Thưởng theo ý tưởng",
    "benefit_reward": "Thưởng theo giá trị làm lợi",
    "remuneration": "Thù lao tác giả",
}
UNKNOWN = "Chưa xác định"


def target_group(code: int | None) -> str:
    return TARGET_GROUPS.get(code or 0, UNKNOWN)


def field(code: str | None) -> str:
    return FIELDS.get(code or "", code or UNKNOWN)
