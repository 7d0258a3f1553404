"""Ready-made API clients: httpx clients with scopegate auth attached."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from ._auth import ScopegateAuth
from ._factory import EnvSession, FromEnv
from ._session import TokenSession

__all__ = ["ApiClient", "AsyncApiClient"]


class ApiClient(FromEnv, httpx.Client):
    """An ``httpx.Client`` for the environment's API with scopegate auth attached.

    :param session: where tokens come from.
    :param base_url: the API base URL (``from_env``: the environment's ``api_base_url``).
    :param required_scopes: scopes every request needs.
    """

    def __init__(
        self,
        session: TokenSession,
        *,
        base_url: str = "",
        required_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.session = session
        super().__init__(
            base_url=base_url,
            auth=ScopegateAuth(session, required_scopes=required_scopes),
            **kwargs,
        )

    @classmethod
    def _from_env_options(cls, session: EnvSession) -> dict[str, Any]:
        return {"base_url": session.env.api_base_url or ""}


class AsyncApiClient(FromEnv, httpx.AsyncClient):
    """An ``httpx.AsyncClient`` for the environment's API with scopegate auth attached."""

    def __init__(
        self,
        session: TokenSession,
        *,
        base_url: str = "",
        required_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.session = session
        super().__init__(
            base_url=base_url,
            auth=ScopegateAuth(session, required_scopes=required_scopes),
            **kwargs,
        )

    @classmethod
    def _from_env_options(cls, session: EnvSession) -> dict[str, Any]:
        return {"base_url": session.env.api_base_url or ""}
