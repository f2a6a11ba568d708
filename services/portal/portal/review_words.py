"""What reviewers read: the review's statuses, actions, clocks and honours in words. Plain data."""

from __future__ import annotations

from typing import Any

from portal.timeline import word  # noqa: F401 - the templates call words.word

STATUS = {
    "received": ("Chờ tiếp nhận", "Awaiting intake"),
    "in_review": ("Đang thẩm định", "In review"),
    "corrections_requested": ("Chờ tác giả bổ sung", "Awaiting the author's corrections"),
    "returned": ("Đã trả lại tác giả", "Returned to the author"),
    "recognized": ("Đã công nhận", "Recognised"),
    "rejected": ("Không công nhận", "Rejected"),
    "nominated": ("Đã đề nghị lên cấp trên", "Nominated upward"),
    "withdrawn": ("Tác giả đã rút", "Withdrawn by the author"),
}
# The audit trail's actions (the API's action names, and the system's own steps).
AUDIT = {
    "received": ("Nhận hồ sơ", "Received"),
    "resubmitted": ("Nhận hồ sơ đã bổ sung", "Received after corrections"),
    "accept": ("Tiếp nhận hồ sơ", "Accepted for review"),
    "request_corrections": ("Yêu cầu bổ sung", "Asked for corrections"),
    "score": ("Chấm điểm", "Scored"),
    "recognize": ("Công nhận", "Recognised"),
    "reject": ("Không công nhận", "Rejected"),
    "return": ("Trả lại", "Returned"),
    "nominate": ("Đề nghị lên cấp trên", "Nominated upward"),
    "withdrawn": ("Tác giả rút sáng kiến", "Withdrawn by the author"),
    "deadline_missed": ("Quá hạn", "Deadline missed"),
}
CLOCKS = {"intake": ("Hạn tiếp nhận", "Intake deadline"), "decision": ("Hạn ra quyết định", "Decision deadline")}
DEADLINE = {
    "ok": ("Còn hạn", "On time"),
    "approaching": ("Sắp đến hạn", "Due soon"),
    "overdue": ("Quá hạn", "Overdue"),
}
HONOURS = {
    "higher_recognition": ("Đề nghị công nhận ở cấp trên", "Recognition at the next level"),
    "exemplary": ("Sáng kiến tiêu biểu", "Exemplary initiative"),
    "national_award": ("Đề nghị khen thưởng cấp Tổng Liên đoàn", "National award"),
}
RULES = {
    "single": ("Một người thẩm định chấm", "One reviewer scores"),
    "majority": ("Hội đồng, theo đa số phiếu đạt", "Council, by a majority of passing votes"),
    "average": ("Hội đồng, theo điểm trung bình", "Council, by the average score"),
}
CRITERIA = {
    "novelty": ("Tính mới", "Novelty"),
    "applicability": ("Khả năng áp dụng", "Applicability"),
    "benefit": ("Hiệu quả, lợi ích", "Benefit"),
}
# A form per action; the API endpoint each posts to, and the fields it sends.
ENDPOINTS = {
    "accept": "accept",
    "request_corrections": "corrections",
    "score": "scores",
    "recognize": "decision",
    "reject": "decision",
    "return": "decision",
    "nominate": "nomination",
}
REASON_REQUIRED = ("request_corrections", "reject", "return")


def payload(action: str, form: Any) -> dict[str, Any]:
    """The API body of an action's form: what the reviewer typed, as the API names it."""
    text = {k: (form.get(k) or "").strip() for k in ("note", "reason", "comment", "honour")}
    if action == "accept":
        return {"note": text["note"]}
    if action == "request_corrections":
        return {"reason": text["reason"]}
    if action == "score":
        body: dict[str, Any] = {"comment": text["comment"]}
        for criterion in CRITERIA:
            raw = (form.get(criterion) or "").strip().replace(",", ".")
            try:
                body[criterion] = float(raw)
            except ValueError:
                body[criterion] = raw  # the API says what is wrong with it, in both languages
        return body
    if action in ("recognize", "reject", "return"):
        body = {"decision": action}
        if text["reason"]:
            body["reason"] = text["reason"]
        return body
    if action == "nominate":
        return {"honour": text["honour"] or "higher_recognition", "reason": text["reason"]}
    raise KeyError(action)
