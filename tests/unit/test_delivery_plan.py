"""How the hub groups due messages into requests: batches per destination where allowed, else one each."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from derbridge.hub.delivery import Dispatcher, plan_requests


def row(message_id: int, kind: str = "aggregator-sync", target: str = "derms", path: str = "/aggregator") -> object:
    return SimpleNamespace(id=message_id, kind=kind, target=target, outbound_path=path)


def shape(sends: list) -> list[tuple[str, list[int]]]:
    return [(leg.kind, [r.id for r in chunk]) for leg, chunk in sends]


BOTH = frozenset({"dacs", "derms"})


def test_messages_for_one_destination_go_in_batches_of_the_set_size() -> None:
    assert shape(plan_requests([row(i) for i in range(1, 6)], batch_size=2, batching=BOTH)) == [
        ("aggregator-sync", [1, 2]), ("aggregator-sync", [3, 4]), ("aggregator-sync", [5])]


def test_a_batch_size_of_one_sends_each_message_on_its_own() -> None:
    assert shape(plan_requests([row(2), row(1)], batch_size=1, batching=BOTH)) == [
        ("aggregator-sync", [1]), ("aggregator-sync", [2])]


def test_different_kinds_and_targets_never_share_a_request() -> None:
    rows = [row(1), row(2, kind="aggregator-ack", target="dacs", path="/ack"), row(3)]
    assert shape(plan_requests(rows, batch_size=10, batching=BOTH)) == [("aggregator-ack", [2]),
                                                                        ("aggregator-sync", [1, 3])]


def test_a_peer_that_has_not_said_it_takes_batches_gets_each_message_on_its_own() -> None:
    rows = [row(1), row(2), row(3, kind="aggregator-ack", target="dacs", path="/ack"), row(4, kind="aggregator-ack",
                                                                                            target="dacs", path="/ack")]
    assert shape(plan_requests(rows, batch_size=10, batching=frozenset({"dacs"}))) == [
        ("aggregator-ack", [3, 4]), ("aggregator-sync", [1]), ("aggregator-sync", [2])]
    assert all(len(chunk) == 1 for _leg, chunk in plan_requests(rows, batch_size=10, batching=frozenset()))


def test_the_dispatcher_never_splits_one_submission_across_batches() -> None:
    started: list[list[int]] = []
    done = threading.Event()

    def start(ids: list[int]) -> str:
        started.append(ids)
        if sum(map(len, started)) == 8:
            done.set()
        return f"w{len(started)}"

    dispatcher = Dispatcher(max_in_flight=100, max_batch=3, max_wait_s=0.01, start=start)
    for ids in ([1, 2], [3, 4, 5, 6], [7], [8]):
        dispatcher.submit(ids)
    dispatcher.start()
    assert done.wait(5)
    dispatcher.stop()
    assert started == [[1, 2], [3, 4, 5, 6], [7, 8]]
