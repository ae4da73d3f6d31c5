"""Benchmark speech synthesis: CPU seconds per line, short and long, and against the audio it makes.

    .venv/bin/python bench/speech.py [--runs N]

Speaks a short line (25 characters), a long one (about 160) and a prompt-sized one (about 480) with
:func:`refgen.media.speech.synthesize` at 48 kHz, each ``--runs`` times, and prints the median CPU
time of this process (resampling, normalising) plus that of the ``espeak-ng`` subprocesses, the
seconds of speech made, and the CPU share of real time. Also times a whole soundtrack (speech
over the music bed, 5 s). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

from refgen.domain import TaskKind
from refgen.generation import GenerationJob
from refgen.media import speech
from refgen.media.soundtrack import soundtrack

RATE = 48_000
LINES = {
    "short": "Hello there, how are you?",
    "long": (
        "The astronaut walks slowly across the red dunes, looking back at the small ship, and says "
        "that the storm will arrive before nightfall."
    ),
}
LINES["prompt-sized"] = " ".join([LINES["long"]] * 3)


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU time of ``work``: this process and the children it waited for."""
    before = os.times()
    work()
    after = os.times()
    return (after.user - before.user + after.system - before.system) + (
        after.children_user - before.children_user + after.children_system - before.children_system
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not speech.available():
        print(f"{speech.PROGRAM} is not installed: nothing to measure (scripts/install-speech.sh)")
        return 0
    print(f"{'line':<14}{'chars':>6}{'speech s':>10}{'cpu s (median)':>16}{'cpu / speech':>14}")
    for name, text in LINES.items():
        seconds = speech.synthesize([text], "", RATE).size / RATE
        times = [cpu_seconds(lambda text=text: speech.synthesize([text], "", RATE)) for _ in range(args.runs)]
        cpu = statistics.median(times)
        print(f"{name:<14}{len(text):>6}{seconds:>10.2f}{cpu:>16.3f}{cpu / seconds:>14.3f}")
    job = GenerationJob(
        "bench",
        TaskKind.VIDEO,
        "viduq1",
        f'She says "{LINES["long"]}"',
        (),
        64,
        64,
        1,
        5,
        bgm=True,
        audio=True,
    )
    started = time.perf_counter()
    cpu = statistics.median(cpu_seconds(lambda: soundtrack(job, RATE)) for _ in range(args.runs))
    wall = time.perf_counter() - started
    each = wall / args.runs
    print(f"soundtrack of 5 s, the long line over music (fitted): cpu {cpu:.3f} s, wall {each:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
