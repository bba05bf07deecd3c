"""problem+json (RFC 9457) for every error, naming each bad field; oversized bodies refused with the limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from derbridge.errors import (
    Conflict,
    DerbridgeError,
    FileRefused,
    InvalidInput,
    NotFound,
    Refused,
    TooEarly,
    TransientError,
)
from derbridge.web.auth import Authenticator, AuthError

PROBLEM = "application/problem+json"
RejectionKeeper = Callable[[Request, bytes, list[dict[str, Any]]], Awaitable[None]]


class Problem(Exception):
    """An HTTP answer with problem+json, for the web plumbing's own refusals (a body too large, a file upload
    gone wrong); domain code raises the error tree (derbridge/errors.py) instead, mapped by `problem_of`."""

    def __init__(self, status: int, title: str, detail: str = "", errors: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}


def problem_of(error: DerbridgeError) -> Problem:
    """The one mapping of the error tree to HTTP answers, used by every app and every batch endpoint."""
    if isinstance(error, NotFound):
        return Problem(404, f"Unknown {error.what}", str(error))
    if isinstance(error, Refused):
        return Problem(409, "Refused", error.text,
                       extra={"messageCategory": error.category, "messageNumber": error.number})
    if isinstance(error, Conflict):
        return Problem(409, "Conflict", str(error))
    if isinstance(error, InvalidInput):
        errors = [{"field": field, "message": message, "type": "invalid_input"}
                  for field, message in error.problems.items()]
        return Problem(422, "Invalid request", f"bad fields: {', '.join(error.problems)}", errors)
    if isinstance(error, FileRefused):
        return Problem(error.status, error.title, error.detail, error.errors)
    if isinstance(error, TooEarly):
        return Problem(425, "Too early", str(error))
    if isinstance(error, TransientError):
        return Problem(503, "Unavailable", str(error))
    return Problem(422, "Refused", str(error))


def problem_body(status: int, title: str, detail: str = "", errors: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """`extra`: further members of the problem (RFC 9457 extensions), e.g. where a refused file is kept."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return body


def problem_response(status: int, title: str, detail: str = "", errors: list[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, title, detail, errors, extra), status_code=status, media_type=PROBLEM,
                        headers=headers)


def field_errors(exc: RequestValidationError | ValidationError) -> list[dict[str, Any]]:
    """One entry per bad field, with a dotted path such as `contact.email` or `programOfferings.0`."""
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        message = str(error.get("msg", ""))
        if error.get("type") == "json_invalid":  # its location is a character position, not a field
            message, location = f"{message} at character {'.'.join(location)}", []
        errors.append({"field": ".".join(location) or "body", "message": message, "type": error.get("type", "")})
    return errors


def install_problem_handlers(app: FastAPI, authenticator: Authenticator,
                             keep_rejected: RejectionKeeper | None = None) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI parses JSON before it checks credentials; a stranger must still get 401, and nothing kept.
        try:
            authenticator.authenticate(request.headers.get("authorization"))
        except AuthError as auth_error:
            return await unauthorised(request, auth_error)
        errors = field_errors(exc)
        malformed = any(e["type"] == "json_invalid" for e in errors)
        if keep_rejected is not None:
            await keep_rejected(request, request.scope.get("derbridge.body", b""), errors)
        if malformed:
            return problem_response(400, "Malformed JSON", "the request body is not valid JSON", errors)
        names = ", ".join(e["field"] for e in errors)
        return problem_response(422, "Invalid request", f"bad fields: {names}", errors)

    @app.exception_handler(DerbridgeError)
    async def domain_error(request: Request, exc: DerbridgeError) -> JSONResponse:
        """An endpoint's own checks refused the request (inside a transaction that rolled back); invalid input is
        kept raw like a schema failure."""
        problem = problem_of(exc)
        if isinstance(exc, InvalidInput) and keep_rejected is not None:
            await keep_rejected(request, request.scope.get("derbridge.body", b""), problem.errors)
        return problem_response(problem.status, problem.title, problem.detail, problem.errors, extra=problem.extra)

    @app.exception_handler(Problem)
    async def explicit(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.errors, extra=exc.extra)

    @app.exception_handler(AuthError)
    async def unauthorised(_request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="derbridge", Bearer'} if exc.status == 401 else None
        title = "Unauthorized" if exc.status == 401 else "Forbidden"
        return problem_response(exc.status, title, exc.detail, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail))


class BodyLimit:
    """ASGI middleware: refuses bodies over the limit (413) and keeps the raw body for rejection records.

    Paths under `streamed_prefixes` take files: their endpoints stream the body to disk under a limit of
    their own (web/uploads.py), so they pass through untouched.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, streamed_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed_prefixes = streamed_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}
                or str(scope["path"]).startswith(self.streamed_prefixes)):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope["derbridge.body"] = body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        response = problem_response(413, "Request body too large", f"the limit is {self.max_bytes} bytes")
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
