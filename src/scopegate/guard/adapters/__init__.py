"""Framework adapters; each stays thin and imports its framework only when imported itself.

``scopegate.guard.adapters.starlette`` (also FastAPI), ``.fastapi`` and ``.flask``.
"""

__all__: list[str] = []
