"""The ASGI authorization server. Build it with :func:`scopegate.server.app.create_app`."""
