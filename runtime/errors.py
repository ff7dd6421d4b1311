"""Domain errors. Services raise these; one handler (``api/errors.py``) maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detail:
    """One problem at one place: a JSON path (``lines[2].amount``) or a cell (``Lines!C7``)."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(eq=False)
class QuireError(Exception):
    """Base of every error a client can cause. ``message`` is a sentence for people."""

    message: str = "The request could not be completed."
    details: list[Detail] = field(default_factory=list)
    status = 400
    code = "bad_request"

    def __post_init__(self) -> None:
        super().__init__(self.message)


class BadRequest(QuireError):
    status, code = 400, "bad_request"


class Unauthorized(QuireError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "Please sign in.", details: list[Detail] | None = None):
        super().__init__(message, details or [])


class Forbidden(QuireError):
    status, code = 403, "forbidden"

    def __init__(self, message: str = "You are not allowed to do this.", details=None):
        super().__init__(message, details or [])


class NotFound(QuireError):
    status, code = 404, "not_found"

    def __init__(self, message: str = "Not found.", details=None):
        super().__init__(message, details or [])


class Conflict(QuireError):
    status, code = 409, "conflict"


class TooLarge(QuireError):
    status, code = 413, "too_large"


class Invalid(QuireError):
    status, code = 422, "invalid"


class TooManyRequests(QuireError):
    status, code = 429, "too_many_requests"
