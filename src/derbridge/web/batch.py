"""Batches: several independent messages in one request, each answered on its own.

A sender with many messages for one endpoint may post `{"messages": [...]}` to the endpoint's path plus
`/batch` and gets `{"results": [{"status": ..., "body": ...}, ...]}`: one result per message, in order, each
the status and body the single endpoint would have answered. A bad message is refused alone (422 naming its
fields, kept raw like any refused request); the others are taken. One request instead of N is most of what
a message costs here (HTTP, routing, JSON), so the systems talk in batches where the receiver offers them;
the vendor's documented single-message endpoints stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from derbridge.errors import DerbridgeError
from derbridge.web.problems import Problem, RejectionKeeper, field_errors, problem_body, problem_of

MAX_BATCH = 1000
M = TypeVar("M", bound=BaseModel)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


@dataclass(frozen=True)
class Answer:
    """What an endpoint answers for one message."""

    status: int
    body: Any


def refused(exc: ValidationError) -> Answer:
    errors = field_errors(exc)
    names = ", ".join(error["field"] for error in errors)
    return Answer(422, problem_body(422, "Invalid request", f"bad fields: {names}", errors))


def answer_of(refusal: Problem | DerbridgeError) -> Answer:
    """A refusal as one message's answer in a batch, as the single endpoint would have answered it."""
    problem = problem_of(refusal) if isinstance(refusal, DerbridgeError) else refusal
    return Answer(problem.status, problem_body(problem.status, problem.title, problem.detail, problem.errors,
                                               problem.extra))


def results(answers: list[Answer]) -> JSONResponse:
    return JSONResponse({"results": [{"status": a.status, "body": a.body} for a in answers]})


async def validated(request: Request, model: type[M], batch: BatchIn,
                    keep_rejected: RejectionKeeper | None) -> list[M | Answer]:
    """Each message as `model`, or the 422 answer for it (kept raw when a keeper is given)."""
    checked: list[M | Answer] = []
    for item in batch.messages:
        try:
            checked.append(model.model_validate(item))
        except ValidationError as exc:
            answer = refused(exc)
            if keep_rejected is not None:
                await keep_rejected(request, json.dumps(item).encode(), answer.body["errors"])
            checked.append(answer)
    return checked


def add_single_and_batch(router: APIRouter, path: str, model: type[M], handle: Callable[[M], Answer],
                         keep_rejected: RejectionKeeper | None, *, summary: str, status_code: int = 202,
                         tags: list[str | Enum] | None = None) -> None:
    """Serve `handle` at `path` for one message and at `path/batch` for several."""

    def single(body: BaseModel) -> JSONResponse:
        answer = handle(body)  # type: ignore[arg-type]
        return JSONResponse(answer.body, status_code=answer.status)

    single.__annotations__["body"] = model
    single.__name__ = f"receive_{model.__name__}"
    router.post(path, status_code=status_code, summary=summary, tags=tags)(single)

    async def batch(body: BatchIn, request: Request) -> JSONResponse:
        checked = await validated(request, model, body, keep_rejected)
        return results(await run_in_threadpool(_handle_each, checked, handle))

    batch.__name__ = f"receive_{model.__name__}_batch"
    router.post(f"{path}/batch", summary=f"{summary} (several at once)", tags=tags)(batch)


def add_single_and_batch_at_once(router: APIRouter, path: str, model: type[M],
                                 handle_all: Callable[[list[M]], list[Answer]], keep_rejected: RejectionKeeper | None,
                                 *, summary: str, status_code: int = 202, tags: list[str | Enum] | None = None) -> None:
    """Like add_single_and_batch, for a handler that takes every valid message of a request in one call, so that
    it can do its database work in one transaction instead of one per message; it answers each, in order."""

    def single(body: BaseModel) -> JSONResponse:
        [answer] = handle_all([body])  # type: ignore[list-item]
        return JSONResponse(answer.body, status_code=answer.status)

    single.__annotations__["body"] = model
    single.__name__ = f"receive_{model.__name__}"
    router.post(path, status_code=status_code, summary=summary, tags=tags)(single)

    async def batch(body: BatchIn, request: Request) -> JSONResponse:
        checked = await validated(request, model, body, keep_rejected)
        return results(await run_in_threadpool(_handle_valid_together, checked, handle_all))

    batch.__name__ = f"receive_{model.__name__}_batch"
    router.post(f"{path}/batch", summary=f"{summary} (several at once)", tags=tags)(batch)


def _handle_valid_together(checked: list[M | Answer], handle_all: Callable[[list[M]], list[Answer]]) -> list[Answer]:
    valid = [item for item in checked if not isinstance(item, Answer)]
    try:
        answers = iter(handle_all(valid) if valid else [])
    except (Problem, DerbridgeError) as refusal:
        answers = iter([answer_of(refusal)] * len(valid))
    return [item if isinstance(item, Answer) else next(answers) for item in checked]


def _handle_each(checked: list[M | Answer], handle: Callable[[M], Answer]) -> list[Answer]:
    answers = []
    for item in checked:
        if isinstance(item, Answer):
            answers.append(item)
            continue
        try:
            answers.append(handle(item))
        except (Problem, DerbridgeError) as refusal:
            answers.append(answer_of(refusal))
    return answers
