"""Vietnamese names of codes that reports print (the submission service's catalogue, as events carry codes)."""

from __future__ import annotations

TARGET_GROUPS = {
    1: "Cán bộ, viên chức, người lao động đơn vị sự nghiệp",
    2: "Người lao động thực hiện công trình, đề án, đề tài, cải tiến kỹ thuật",
    3: "Sáng kiến xây dựng nông thôn mới",
    4: "Cán bộ cơ quan Đảng, Nhà nước, Mặt trận, đoàn thể (kể cả cán bộ công đoàn)",
    5: "Người lao động trong doanh nghiệp sản xuất, kinh doanh",
}
FIELDS = {
    "production_business": "Sản xuất, kinh doanh",
    "epidemic_prevention": "Phòng, chống dịch bệnh",
    "administration": "Quản lý, hành chính",
    "union_work": "Hoạt động công đoàn",
    "new_countryside": "Xây dựng nông thôn mới",
    "education": "Giáo dục, đào tạo",
    "health": "Y tế",
    "science_technology": "Khoa học, công nghệ",
    "environment": "Môi trường",
    "other": "Lĩnh vực khác",
}
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
