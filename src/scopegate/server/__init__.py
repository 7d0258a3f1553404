"""The ASGI authorization server. Build it with :func:`scopegate.server.app.create_app`."""

from .._extras import require_extra

require_extra("scopegate.server", "server", "starlette", "uvicorn", "sqlalchemy", "alembic",
              "argon2", "jinja2", "itsdangerous", "prometheus_client", "pydantic",
              "pydantic_settings", "orjson", "cryptography", "redis")
