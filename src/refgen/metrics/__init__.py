"""What refgen tells Prometheus: the metric families, where they are counted, how they are served.

- :mod:`refgen.metrics.families`: the counters and histograms, one small class per producer
  (:class:`~refgen.metrics.families.HttpMetrics` for the API's requests,
  :class:`~refgen.metrics.families.CallbackMetrics` for the callback dispatcher,
  :class:`~refgen.metrics.families.TaskMetrics` for the workers' runs) and :class:`Metrics`, one
  registry with the API process's families.
- :mod:`refgen.metrics.queue`: the gauges read from the database at scrape time (tasks waiting
  and processing by state and model, live workers), so every API replica reports the same queue.
- :mod:`refgen.metrics.exposition`: rendering a registry, the bearer-token check, the worker
  processes' shared folder (prometheus-client's multiprocess mode) and the small HTTP server of
  ``refgen worker --metrics-port``.

``docs/deployment.md`` says which process counts what and how to scrape each shape.
"""

from refgen.metrics.families import CallbackMetrics, HttpMetrics, Metrics, TaskMetrics

__all__ = ["CallbackMetrics", "HttpMetrics", "Metrics", "TaskMetrics"]
