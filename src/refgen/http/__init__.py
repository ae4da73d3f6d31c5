"""The HTTP surface: app factory, routes, error mapping, request bodies, file serving."""
