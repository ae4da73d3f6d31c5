"""The metric families refgen counts, built on a registry given to them (no global registry, so
every app, worker and test has its own).

===========================================  =========  ===========================================
family                                       type       labels
===========================================  =========  ===========================================
``refgen_http_request_duration_seconds``     histogram  method, route (the template), status
``refgen_callback_attempts_total``           counter    result: delivered, retry, gave_up
``refgen_task_duration_seconds``             histogram  endpoint, model, backend, state
``refgen_task_outcomes_total``               counter    endpoint, model, backend, state, err_code
===========================================  =========  ===========================================

Every label takes values from a bounded set: the route TEMPLATE (``/ent/v2/tasks/{task_id}/creations``,
never the path a client sent), the catalogue's endpoints and models, the model map's backends,
the task states and the Vidu error codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from refgen.domain import TaskKind, TaskState
from refgen.err_codes import ErrCode

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: reads take a millisecond or two, creates with references up to seconds."""

TASK_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
"""Seconds: a compositor preview takes about a second, a diffusion video many minutes."""

UNMATCHED_ROUTE = "unmatched"
"""The ``route`` label of a request no route matched (a 404): never the path itself."""


class HttpMetrics:
    """Request latency by route template. :meth:`observe` keeps the labelled children it made in
    a plain dictionary, so a request costs one dictionary lookup and one histogram observe."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "refgen_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(method, route, str(status))
        child.observe(seconds)


class CallbackMetrics:
    """Callback tries by result: ``delivered`` (a 2xx), ``retry`` (another try is scheduled),
    ``gave_up`` (no try left)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "refgen_callback_attempts",
            "Callback deliveries tried, by result: delivered, retry (scheduled again), gave_up.",
            ["result"],
            registry=registry,
        )
        for result in ("delivered", "retry", "gave_up"):
            self.attempts.labels(result)  # present at 0 before the first callback

    def attempted(self, *, delivered: bool, retrying: bool) -> None:
        self.attempts.labels("delivered" if delivered else "retry" if retrying else "gave_up").inc()


class TaskMetrics:
    """The runs a worker ends: how long each took (claim to end) and how it ended. A task ended
    without a run (cancelled while waiting, failed by the reaper, an off-peak task expired) is not
    counted here; its state is in the database (and in Get Generation)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.duration = Histogram(
            "refgen_task_duration_seconds",
            "Time a worker spent on a task, from claim to its end, by endpoint, model, backend, state.",
            ["endpoint", "model", "backend", "state"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self.outcomes = Counter(
            "refgen_task_outcomes",
            "Tasks ended by a worker, by endpoint, model, backend, state and err_code ('' on success).",
            ["endpoint", "model", "backend", "state", "err_code"],
            registry=registry,
        )

    def ended(
        self, kind: TaskKind, model: str, backend: str, err_code: ErrCode | None, seconds: float
    ) -> None:
        """A run ended: ``success`` when ``err_code`` is None, else ``failed`` with it."""
        state = TaskState.SUCCESS if err_code is None else TaskState.FAILED
        labels = (kind.value, model, backend, state.value)
        self.duration.labels(*labels).observe(max(0.0, seconds))
        self.outcomes.labels(*labels, "" if err_code is None else err_code.value).inc()


@dataclass
class Metrics:
    """The API process's registry and its families. ``tasks`` counts the runs of workers that are
    threads of this process (tests, debugging); it is None when the workers are other processes,
    whose counts reach this registry another way (:mod:`refgen.metrics.exposition`)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    with_tasks: bool = True
    http: HttpMetrics = field(init=False)
    callbacks: CallbackMetrics = field(init=False)
    tasks: TaskMetrics | None = field(init=False)

    def __post_init__(self) -> None:
        self.http = HttpMetrics(self.registry)
        self.callbacks = CallbackMetrics(self.registry)
        self.tasks = TaskMetrics(self.registry) if self.with_tasks else None
