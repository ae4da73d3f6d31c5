"""Connection-flood benchmark: how fast ``/healthz`` answers from a fresh connection while 3,000 are held.

    .venv/bin/python bench/connections.py [--connections 3000] [--seconds 10] [--scenarios raised,capped]

``refgen serve`` runs in a child process started with the soft open-files limit service managers
usually give (1,024). A flood then holds ``--connections`` connections open (a third idle, a third
with part of a request head, a third with a head and part of a body), opening again at once any the
server closes. Once a second, a probe opens a fresh connection and times ``GET /healthz``:

- ``raised``: the hard limit is left as it is, so the server may raise its soft limit at start-up;
- ``capped``: the hard limit is 1,024 too, so only the connection cap and the timeouts protect it.

For each it prints p50, p99 and max probe latency with no flood and with the flood, the ratio of the
two p50s, probes that failed, and one probe after the flood is released. Target: every probe under 2 s.
The figures are printed, never asserted: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from refgen.testing.connection_flood import ConnectionFlood, probe
from refgen.testing.server_process import ServerProcess

TARGET = 2.0
PROBE_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def probes(port: int, seconds: float) -> tuple[list[float], int]:
    """One probe a second for ``seconds``: the latencies of those that answered 200, and the failures."""
    latencies: list[float] = []
    failed = 0
    start = time.monotonic()
    for tick in range(max(1, int(seconds))):
        try:
            status, latency = probe("127.0.0.1", port, timeout=PROBE_TIMEOUT)
        except OSError:
            status, latency = 0, PROBE_TIMEOUT
        if status == 200:
            latencies.append(latency)
        else:
            failed += 1
        time.sleep(max(0.0, start + tick + 1 - time.monotonic()))
    return latencies, failed


def summary(label: str, latencies: list[float], failed: int) -> str:
    if not latencies:
        return f"  {label:<22} no probe answered ({failed} failed)"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    within = sum(1 for v in latencies if v <= TARGET)
    return (
        f"  {label:<22} p50 {statistics.median(ordered) * 1000:8.1f} ms   p99 {p99 * 1000:8.1f} ms   "
        f"max {ordered[-1] * 1000:8.1f} ms   {within}/{len(latencies) + failed} within {TARGET:g} s"
        + (f"   {failed} FAILED" if failed else "")
    )


def scenario(name: str, connections: int, seconds: float, folder: Path) -> None:
    port = free_port()
    hard = 1024 if name == "capped" else None
    with ServerProcess(folder / name / "data", port, soft_files=1024, hard_files=hard) as server:
        started = next((line for line in server.log().splitlines() if "open files limit" in line), "")
        print(f"{name}: soft limit 1024, hard {hard or 'unchanged'}")
        if started:
            print(f"  server: {started.split(' INFO ', 1)[-1]}")
        quiet, quiet_failed = probes(port, seconds)
        print(summary("no flood", quiet, quiet_failed))
        with ConnectionFlood("127.0.0.1", port, connections) as flood:
            ready = flood.wait_started(timeout=120)
            held, held_failed = probes(port, seconds)
            counts = replace(flood.counts)
        print(summary(f"{connections} held", held, held_failed))
        print(
            f"  flood: {'all' if ready else 'NOT all'} {connections} opened, "
            f"{counts.connected} open at the end, {counts.closed_by_server} closed by the server, "
            f"{counts.failed} connects failed"
        )
        if quiet and held:
            print(f"  ratio held/no flood p50: {statistics.median(held) / statistics.median(quiet):.2f}")
        after, after_failed = probes(port, 1)
        print(summary("after the flood", after, after_failed))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--scenarios", default="raised,capped")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios.split(","):
            scenario(name.strip(), args.connections, args.seconds, Path(tmp))


if __name__ == "__main__":
    main()
