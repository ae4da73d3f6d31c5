"""Serving the app over HTTP: the process's open-files limit, a cap on connections and their timeouts.

``refgen serve`` runs uvicorn through :func:`refgen.serving.server.run_server`, which raises the soft
open-files limit, sizes the connection cap to fit it, and installs uvicorn's HTTP protocol with a
:class:`~refgen.serving.guard.ConnectionGuard` watching every connection.
"""
