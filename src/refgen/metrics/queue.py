"""Gauges read from the database when ``/metrics`` is scraped: the queue and the live workers.

The task table is the queue, so its depth is read where it is true, with one grouped query
(:meth:`~refgen.store.base.TaskStore.queue_depth`), not counted up and down in some process that
may restart. Every API replica reports the same figures (aggregate them with ``max``, not ``sum``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from refgen.domain import TERMINAL_STATES, Route, TaskState
from refgen.errors import StoreError
from refgen.store.base import TaskStore

log = logging.getLogger("refgen.metrics")

UNFINISHED_STATES = tuple(state for state in TaskState if state not in TERMINAL_STATES)


class QueueCollector(Collector):
    """``refgen_queue_tasks{state, endpoint, model}`` for every unfinished state of every served
    route (0 when none), and ``refgen_workers_alive``. When the database does not answer, the
    scrape still succeeds without these two (and one warning is logged)."""

    def __init__(self, tasks: TaskStore, routes: Collection[Route], workers_alive: Callable[[], int]) -> None:
        self._tasks = tasks
        self._routes = sorted(routes)
        self._workers_alive = workers_alive

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read only at scrape time: registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            groups = self._tasks.queue_depth()
            alive = self._workers_alive()
        except StoreError as exc:
            log.warning("metrics cannot read the queue: %s", exc)
            return
        depth = {(state, kind, model): 0 for kind, model in self._routes for state in UNFINISHED_STATES}
        for group in groups:
            depth[(group.state, group.kind, group.model)] = group.count
        queue = GaugeMetricFamily(
            "refgen_queue_tasks",
            "Unfinished tasks in the database, by state (created, queueing, processing), endpoint and model.",
            labels=["state", "endpoint", "model"],
        )
        for (state, kind, model), count in sorted(depth.items()):
            queue.add_metric([state.value, kind.value, model], count)
        yield queue
        workers = GaugeMetricFamily(
            "refgen_workers_alive",
            "Generation workers alive: this server's own, else the registered ones seen within a lease.",
        )
        workers.add_metric([], alive)
        yield workers
