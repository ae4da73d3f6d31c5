"""The one shape of background work: start, stop, tick, failures logged, named threads."""

from __future__ import annotations

import logging
import threading

import pytest

from refgen.background import BackgroundLoop

WAIT = 5.0  # a guard against hanging, never a timing assumption


class Counting(BackgroundLoop):
    def __init__(self, ticks_wanted: int = 3, fail_first: bool = False) -> None:
        super().__init__("counting-loop", 0.001)
        self.ticks = 0
        self.threads: set[str] = set()
        self.enough = threading.Event()
        self._wanted = ticks_wanted
        self._fail_first = fail_first

    def tick(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.ticks += 1
        if self._fail_first and self.ticks == 1:
            raise RuntimeError("first tick fails")
        if self.ticks >= self._wanted:
            self.enough.set()


def test_background_loop_ticks_in_a_named_thread_until_stopped() -> None:
    loop = Counting()
    with loop:
        assert loop.started
        assert loop.enough.wait(WAIT)
    assert not loop.started
    ticks = loop.ticks
    assert loop.threads == {"counting-loop"}
    assert not any(t.name == "counting-loop" for t in threading.enumerate())
    assert loop.ticks == ticks  # stop joined the thread: no tick after it


def test_background_loop_logs_a_failing_tick_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = Counting(ticks_wanted=2, fail_first=True)
    with caplog.at_level(logging.ERROR, logger="refgen"), loop:
        assert loop.enough.wait(WAIT)
    [record] = [r for r in caplog.records if r.exc_info]
    assert "counting-loop failed" in record.getMessage()


def test_background_loop_start_and_stop_twice_are_harmless() -> None:
    loop = Counting()
    loop.stop()  # never started
    loop.start()
    loop.start()
    assert loop.enough.wait(WAIT)
    assert [t.name for t in threading.enumerate()].count("counting-loop") == 1
    loop.stop()
    loop.stop()
    assert not loop.started


def test_background_loop_stop_interrupts_a_run_that_waits_elsewhere() -> None:
    class Waiting(BackgroundLoop):
        def __init__(self) -> None:
            super().__init__("waiting-loop", 3600.0)
            self.waiting = threading.Event()
            self.woken = threading.Event()

        def run(self) -> None:
            self.waiting.set()
            while not self.stopping:
                self.woken.wait()

        def interrupt(self) -> None:
            self.woken.set()

    loop = Waiting()
    loop.start()
    assert loop.waiting.wait(WAIT)
    loop.stop()  # returns only because interrupt() woke run()
    assert loop.woken.is_set()


def test_background_loop_logs_a_run_that_ends_in_an_exception(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(BackgroundLoop):
        def run(self) -> None:
            raise RuntimeError("broken")

    loop = Broken("broken-loop", 1.0)
    with caplog.at_level(logging.ERROR, logger="refgen"), loop:
        pass
    assert any("broken-loop stopped unexpectedly" in r.getMessage() for r in caplog.records)


def test_background_loop_ticks_at_start_when_asked() -> None:
    class Eager(Counting):
        tick_at_start = True

        def __init__(self) -> None:
            super().__init__(ticks_wanted=1)
            self.interval = 3600.0

    loop = Eager()
    with loop:
        assert loop.enough.wait(WAIT)  # the first tick did not wait for the hour-long interval
    assert loop.ticks == 1
