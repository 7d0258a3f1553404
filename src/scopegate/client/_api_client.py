"""Ready-made API clients: httpx clients with scopegate auth attached."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from ._auth import ScopegateAuth
from ._factory import EnvSession, FromEnv
from ._session import TokenSession
from ._user_agent import user_agent as sdk_user_agent

__all__ = ["ApiClient", "AsyncApiClient"]


class _SessionClient(FromEnv):
    """The part both clients share: the session, the base URL, the auth attached."""

    session: TokenSession

    def __init__(
        self,
        session: TokenSession,
        *,
        base_url: str = "",
        required_scopes: Iterable[str] = (),
        user_agent: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.session = session
        auth = ScopegateAuth(session, required_scopes=required_scopes, user_agent=user_agent)
        headers = httpx.Headers(kwargs.pop("headers", None))
        headers.setdefault("User-Agent", sdk_user_agent(user_agent))  # an explicit header wins
        # The next class in the MRO is httpx.Client or httpx.AsyncClient.
        super().__init__(base_url=base_url, auth=auth, headers=headers,  # type: ignore[call-arg]
                         **kwargs)

    @classmethod
    def _from_env_options(cls, session: EnvSession) -> dict[str, Any]:
        return {"base_url": session.env.api_base_url or ""}


class ApiClient(_SessionClient, httpx.Client):
    """An ``httpx.Client`` for the environment's API with scopegate auth attached.

    :param session: where tokens come from.
    :param base_url: the API base URL (``from_env``: the environment's ``api_base_url``).
    :param required_scopes: scopes every request needs.
    :param user_agent: an API SDK's own product token(s), e.g. ``"acme-sdk/2.3.1"``, sent
        before ``scopegate-python/<version>`` in ``User-Agent``.
    :param kwargs: any other ``httpx.Client`` argument (``timeout``, ``transport``, ...).
    """


class AsyncApiClient(_SessionClient, httpx.AsyncClient):
    """An ``httpx.AsyncClient`` for the environment's API with scopegate auth attached.

    The same parameters as :class:`ApiClient`.
    """
