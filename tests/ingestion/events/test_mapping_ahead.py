"""The mapping thread's pipe (mapping_ahead._Pipe): bounded by the sizes its items are put with."""

from __future__ import annotations

import threading

from ingestion.events.mapping_ahead import _Pipe


def test_a_put_waits_for_room_and_any_one_item_goes_in() -> None:
    pipe, stop = _Pipe(10), threading.Event()
    assert pipe.put("a", 6, stop)
    waiting = threading.Thread(target=pipe.put, args=("b", 6, stop))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive() and pipe.size == 6  # 12 bytes would not fit
    assert pipe.get() == "a"
    waiting.join(5)
    assert not waiting.is_alive() and pipe.size == 6
    assert pipe.get() == "b"
    assert pipe.put("larger than the limit", 30, stop) and pipe.get() == "larger than the limit"


def test_a_stopped_producer_gives_up_waiting() -> None:
    pipe, stop = _Pipe(10), threading.Event()
    assert pipe.put("a", 6, stop)
    stop.set()
    assert pipe.put("b", 6, stop) is False
    assert pipe.size == 6
