"""In-memory fakes of refgen's plug points, for tests of code built on refgen.

- :class:`refgen.testing.store.MemoryStore`: keys, tasks, the queue, workers and the callback
  outbox, in memory; :mod:`refgen.testing.builders` makes keys and tasks for tests.
- :class:`refgen.testing.backends.FakeBackend`: a fast backend of solid-colour frames.
- :class:`refgen.testing.fetcher.FakeImageFetcher`: image URLs served from a dict.
- :class:`refgen.testing.files.MemoryFileStore`: references and creations in memory.
- :class:`refgen.testing.timed.TimedBackend`: a backend that takes a fixed time (load tests).
- :class:`refgen.testing.server_process.ServerProcess`: ``refgen serve`` in a child process with a
  soft open-files limit of 1,024; :class:`refgen.testing.connection_flood.ConnectionFlood`: thousands
  of idle or half-sent connections held against it, and ``probe`` to time one request meanwhile.
"""
