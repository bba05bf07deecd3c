"""How the outbox sender groups due rows into requests: same path, at most per_request rows, and no more payload
than the receiver takes (a few big enrollment requests must not make one oversized /batch request)."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from derbridge.runtime.senders import OutboxSender


def sender(per_request: int, max_request_bytes: int) -> OutboxSender:
    return OutboxSender(sa.create_engine("sqlite://"), sa.Table("t", sa.MetaData()), "http://127.0.0.1:9", "",
                        key_of=str, per_request=per_request, max_request_bytes=max_request_bytes, workers=1)


def rows(path: str, *sizes: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(id=index, path=path, payload="x" * size) for index, size in enumerate(sizes)]


def shape(chunks: list[list[SimpleNamespace]]) -> list[tuple[str, int]]:
    return [(chunk[0].path, len(chunk)) for chunk in chunks]


def test_rows_of_one_path_go_together_up_to_the_count() -> None:
    assert shape(sender(3, 10**6)._chunks(rows("/a", *[10] * 7) + rows("/b", 10))) == [
        ("/a", 3), ("/a", 3), ("/a", 1), ("/b", 1)]


def test_big_payloads_go_with_fewer_others() -> None:
    assert shape(sender(200, 1000)._chunks(rows("/enroll", 400, 400, 400, 100, 100, 900))) == [
        ("/enroll", 2), ("/enroll", 3), ("/enroll", 1)]


def test_a_payload_bigger_than_the_cap_still_goes_alone() -> None:
    assert shape(sender(200, 1000)._chunks(rows("/enroll", 5000, 10))) == [("/enroll", 1), ("/enroll", 1)]
