"""What the benchmarks share: a virtual host and database of their own, percentiles."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pika
import requests

from chassis.envelope import new_event

ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
MANAGEMENT = "http://127.0.0.1:15672/api"


def migrate(service: str, env: dict[str, str]) -> None:
    """Brings the database `env` names for `service` to its latest schema (alembic upgrade head)."""
    command = [sys.executable, "-m", "alembic", "-c", f"services/{service}/alembic.ini", "upgrade", "head"]
    subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[1], check=True, capture_output=True)


def amqp_uri(vhost: str) -> str:
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def fresh_vhost(vhost: str) -> None:
    """A virtual host of its own, so queues left by other runs don't weigh on the figures."""
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=auth, timeout=30)
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=auth, timeout=30).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=auth,
        timeout=30,
    ).raise_for_status()
    for _ in range(50):  # the node starts the new virtual host asynchronously
        try:
            pika.BlockingConnection(pika.URLParameters(amqp_uri(vhost))).close()
            return
        except pika.exceptions.AMQPConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"virtual host {vhost} did not come up")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


GRASSROOTS = [("HN-KL", "HN-KL-C001"), ("HN-KCN", "HN-KCN-C001"), ("HN-TH", "HN-TH-C002")]
WORDS = [
    "cải",
    "tiến",
    "quy",
    "trình",
    "máy",
    "hàn",
    "dây",
    "chuyền",
    "sản",
    "xuất",
    "tiết",
    "kiệm",
    "điện",
    "năng",
    "nguyên",
    "liệu",
    "phần",
    "mềm",
    "quản",
    "lý",
    "kho",
    "vật",
    "tư",
    "an",
    "toàn",
    "lao",
    "động",
    "bảo",
    "dưỡng",
    "thiết",
    "bị",
    "giảm",
    "thời",
    "gian",
    "thao",
    "tác",
    "nâng",
    "cao",
    "năng",
    "suất",
    "chất",
    "lượng",
    "sản",
    "phẩm",
    "số",
    "hóa",
    "hồ",
    "sơ",
    "nhân",
    "sự",
    "tự",
    "động",
    "hóa",
    "kiểm",
    "tra",
    "lỗi",
    "đóng",
    "gói",
    "vận",
    "chuyển",
    "xử",
    "lý",
    "nước",
    "thải",
    "môi",
    "trường",
]


def hn_submitted_event(i: int, rng: random.Random) -> dict:
    """A realistic initiative: varied Vietnamese text, so similarity lookups do real work."""
    upper, unit = GRASSROOTS[i % len(GRASSROOTS)]
    initiative_id = str(uuid.uuid4())

    def phrase(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    data = {
        "initiative_id": initiative_id,
        "revision": 1,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": unit,
        "unit_path": ["VGCL", "HN", upper, unit],
        "top_unit": "HN",
        "block": "enterprise",
        "title": phrase(10).capitalize(),
        "field": "production_business",
        "target_group": 5,
        "confidential": False,
        "problem": phrase(40),
        "solution": phrase(60),
        "novelty": phrase(15),
        "scope": "Toàn bộ phân xưởng",
        "first_applied_on": "2026-01-15",
        "benefit_vnd_per_year": 10_000_000 + i,
        "benefit_description": "Giá trị làm lợi ước tính",
        "authors": [{"member_id": f"dv-{i}", "share_percent": 100.0}],
        "submitted_by": {"member_id": f"dv-{i}", "role": "member"},
        "on_behalf": False,
        "submitted_at": "2026-11-20T03:00:00Z",
    }
    return new_event("initiative.submitted", data, source="/vgcl/submission", subject=initiative_id, unit="HN")


def initiative(tag: str, n: int, unit: str, member: str | None = None) -> dict:
    """A submission body as a member or support team sends it (the load scripts' one shape)."""
    return {
        "title": f"Sáng kiến {tag}-{n}: cải tiến dây chuyền đóng gói",
        "field": "production_business",
        "target_group": 1 + n % 5,
        "problem": "Hiện trạng công đoạn đóng gói còn thủ công, năng suất thấp. " * 4,
        "solution": "Lắp băng chuyền bán tự động và thay đổi trình tự thao tác. " * 8,
        "novelty": "Lần đầu áp dụng tại đơn vị. " * 3,
        "scope": "Toàn bộ phân xưởng",
        "first_applied_on": "2026-03-01",
        "benefit_vnd_per_year": 5_000_000 + 1_000 * (n % 977),
        "authors": [{"name": "Nguyễn Văn Tác Giả", "share_percent": 100} | ({"member_id": member} if member else {})],
        "unit": unit,
        "programme": "LDST2026",
    }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
