"""Valid request bodies to start from; tests change one thing at a time."""

from __future__ import annotations

from typing import Any

UNIT = "HN-KL-C001"  # a grassroots unit of Hà Nội (top-level unit HN)
UPPER = "HN-KL"
PROGRAMME = "LDST2026"


def initiative(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Cải tiến đồ gá hàn giúp giảm thời gian thao tác",
        "field": "production_business",
        "target_group": 5,
        "problem": "Thao tác hàn thủ công mất nhiều thời gian.",
        "solution": "Thiết kế đồ gá định vị nhanh.",
        "novelty": "Lần đầu áp dụng tại công ty.",
        "scope": "Toàn bộ phân xưởng hàn.",
        "first_applied_on": "2026-03-01",
        "benefit_vnd_per_year": 120_000_000,
        "benefit_description": "Giảm 30% thời gian thao tác.",
        "authors": [
            {"name": "Nguyễn Văn An", "member_id": "dv-an", "share_percent": 60},
            {"name": "Trần Thị Bình", "share_percent": 40},
        ],
        "unit": UNIT,
        "programme": PROGRAMME,
        "confidential": False,
    }
    body.update(changes)
    return body
