"""A domain refusal: the request is understood but cannot be carried out as asked."""

from __future__ import annotations


class Refused(Exception):
    """`code` is the API's error code and `status` its HTTP status (409 unless said otherwise:
    the request clashes with the current state); the message says why, in words."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
