"""API errors: one JSON shape, a Vietnamese and an English message, field-level details."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

Fields = dict[str, list[str]]


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message_vi = "Yêu cầu không hợp lệ."
    message_en = "The request is not valid."

    def __init__(
        self,
        message_en: str | None = None,
        message_vi: str | None = None,
        *,
        fields: Fields | None = None,
        fields_vi: Fields | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message_en = message_en or self.message_en
        self.message_vi = message_vi or self.message_vi
        self.code = code or self.code
        self.fields = fields or {}
        self.fields_vi = fields_vi or {}
        self.headers = headers or {}
        super().__init__(self.message_en)

    def body(self) -> dict:
        error: dict = {"code": self.code, "message_vi": self.message_vi, "message_en": self.message_en}
        if self.fields:
            error["fields"] = self.fields
            error["fields_vi"] = self.fields_vi or self.fields
        return {"error": error}

    def response(self) -> Response:
        return error_response(self.status, self.body(), self.headers)


def error_response(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


class MalformedJson(ApiError):
    status, code = 400, "malformed_json"
    message_vi, message_en = "Nội dung không phải JSON hợp lệ.", "The body is not valid JSON."


class ValidationFailed(ApiError):
    status, code = 422, "validation_failed"
    message_vi = "Dữ liệu không hợp lệ, xem chi tiết từng trường."
    message_en = "The data is not valid; see the errors per field."


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"
    message_vi = "Cần đăng nhập bằng mã thông báo hợp lệ."
    message_en = "A valid bearer token is required."

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="api"'})
        super().__init__(*args, **kwargs)


class Forbidden(ApiError):
    status, code = 403, "forbidden"
    message_vi = "Bạn không có quyền thực hiện thao tác này với đơn vị này."
    message_en = "You may not do this for this unit."


class NotFound(ApiError):
    status, code = 404, "not_found"
    message_vi, message_en = "Không tìm thấy.", "Not found."


class Conflict(ApiError):
    status, code = 409, "conflict"
    message_vi = "Thao tác xung đột với trạng thái hiện tại."
    message_en = "The action conflicts with the current state."


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"
    message_vi, message_en = "Nội dung gửi lên quá lớn.", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"
    message_vi = "Kiểu nội dung không được hỗ trợ."
    message_en = "This content type is not supported."


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"
    message_vi = "Hệ thống tạm thời quá tải, vui lòng thử lại sau."
    message_en = "The service is temporarily unavailable; retry later."

    def __init__(self, *args, retry_after: int = 5, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(*args, **kwargs)


class TooManyRequests(ApiError):
    """More requests in flight than the process admits: answered at once instead of queued."""

    status, code = 429, "too_many_requests"
    message_vi = "Hệ thống đang xử lý quá nhiều yêu cầu, vui lòng thử lại sau ít giây."
    message_en = "Too many requests in progress; retry after the number of seconds in Retry-After."

    def __init__(self, *args, retry_after: int = 1, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(*args, **kwargs)


class InternalError(ApiError):
    status, code = 500, "internal_error"
    message_vi = "Lỗi hệ thống; sự cố đã được ghi lại."
    message_en = "Internal error; it has been logged."


class PoisonMessage(Exception):
    """An event no retry can fix: its consumer dead-letters it at once (chassis.handler)."""
