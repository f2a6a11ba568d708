"""Demo data for `make run`: members and initiatives submitted through the HTTP API.

Every request carries an Idempotency-Key, so running it again creates nothing twice.
"""

from __future__ import annotations

import sys

import requests

from chassis.auth import issue_dev_token

IDEAS = [
    ("Cải tiến đồ gá hàn khung xe giúp giảm 30% thời gian thao tác", "production_business", 5, 120_000_000),
    ("Số hóa sổ theo dõi ca trực bằng mã QR", "administration", 1, 45_000_000),
    ("Tận dụng nhiệt thải lò hơi để sấy nguyên liệu", "environment", 2, 380_000_000),
    ("Quy trình khử khuẩn nhanh khu vực nhà ăn ca", "epidemic_prevention", 5, None),
    ("Mô hình tủ sách công đoàn lưu động cho công nhân khu trọ", "union_work", 5, None),
    ("Hệ thống tưới nhỏ giọt tự chế cho vườn rau hộ nghèo", "new_countryside", 3, 15_000_000),
    ("Phần mềm nhắc lịch bảo dưỡng máy may công nghiệp", "production_business", 5, 210_000_000),
    ("Biểu mẫu điện tử tiếp nhận ý kiến đoàn viên", "union_work", 4, None),
]
UNITS = ["HN-KL-C001", "HN-KCN-C001", "HN-TH-C002", "THO-KKT-C001", "THO-LS-C001", "HCM-KCX-C001", "CTVN-HC-C001"]
PROGRAMME = "LDST2026"


def main(base: str) -> None:
    created = 0
    for i, unit in enumerate(UNITS):
        upper = unit.rsplit("-", 1)[0]
        team = {"Authorization": f"Bearer {issue_dev_token(f'tht-{upper.lower()}', 'support_team', upper)}"}
        member_id = f"dv-{unit.lower()}-01"
        requests.post(
            f"{base}/api/v1/members",
            json={"member_id": member_id, "full_name": f"Nguyễn Văn Demo {i + 1}", "unit": unit},
            headers=team,
            timeout=10,
        ).raise_for_status()
        member = {"Authorization": f"Bearer {issue_dev_token(member_id, 'member', unit)}"}
        for j, (title, field, group, benefit) in enumerate(IDEAS[i % 3 :: 3]):
            own = j % 2 == 0  # half by the author, half by the support team on their behalf
            body = {
                "title": title,
                "field": field,
                "target_group": group,
                "problem": "Hiện trạng: thao tác thủ công, tốn thời gian và dễ sai sót.",
                "solution": "Giải pháp: " + title.lower() + ".",
                "novelty": "Lần đầu áp dụng tại đơn vị.",
                "scope": "Áp dụng cho toàn bộ phân xưởng và các đơn vị cùng ngành.",
                "first_applied_on": "2026-03-01",
                "benefit_vnd_per_year": benefit,
                "benefit_description": "Ước tính giá trị làm lợi trong năm đầu áp dụng." if benefit else None,
                "authors": [
                    {"name": f"Nguyễn Văn Demo {i + 1}", "member_id": member_id, "share_percent": 60},
                    {"name": "Trần Thị Cộng Sự", "share_percent": 40},
                ],
                "unit": unit,
                "programme": PROGRAMME,
                "confidential": j == 2,
            }
            response = requests.post(
                f"{base}/api/v1/initiatives",
                json=body,
                headers={**(member if own else team), "Idempotency-Key": f"demo-{unit}-{j}"},
                timeout=10,
            )
            response.raise_for_status()
            created += response.headers.get("Idempotent-Replayed") != "true"
    print(f"demo data: {created} new initiatives ({len(UNITS)} units)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
