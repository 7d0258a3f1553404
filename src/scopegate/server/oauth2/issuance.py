"""Mint the token response for any grant: one function every grant calls.

The access token is an RFC 9068 JWT. Grants that also hand out a refresh token or an ID
token do so through :attr:`TokenIssuer.response_hooks`: each hook receives the
:class:`Issued` record and returns members to merge into the response. Hooks act on the
:class:`UserGrant` a user-facing grant hands them; a grant that passes none (client
credentials, the hot path) has nothing for them, and they are not called.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ...scopes import Catalog, format_scope
from ...store.repositories import ClientRecord
from ...tokens import ACCESS_TOKEN_TYP, SubjectType, access_token_claims
from ..dpop.binding import bound_claims
from ..shared.user_grants import UserGrant
from ..signing.signing_keys import SigningKeys
from .audience import Target, registered_target, resolve_audience
from .auth_level import ACR_PASSWORD
from .resources import Resource, ResourceDirectory

__all__ = ["Issued", "ResponseHook", "TokenIssuer"]

_MAX_MEMO = 4096


class Issued(NamedTuple):
    """What was just issued; handed to every response hook (immutable, cheap to build).

    :param user_grant: what a user-facing grant hands the hooks (user, ``nonce``,
        ``auth_time``, the refresh token it wants).
    """

    client: ClientRecord
    subject: str
    subject_type: SubjectType
    scopes: frozenset[str]
    audience: tuple[str, ...]
    grant_type: str
    claims: Mapping[str, Any]
    access_token: str
    user_grant: UserGrant | None = None


ResponseHook = Callable[[Issued], Awaitable[Mapping[str, Any]]]


def _sign_in_and_binding(extra: Mapping[str, Any] | None, user_grant: UserGrant | None
                         ) -> tuple[Mapping[str, Any] | None, str]:
    """More claims: how recent and how strong a user's sign-in was (RFC 9470 §3), the
    browser session it came from (``sid``: ending that session denies the token), and the
    key a DPoP request proved; with the ``token_type`` that follows."""
    if user_grant is not None:
        extra = {**(extra or {}), "auth_time": user_grant.auth_time, "acr": ACR_PASSWORD}
        if user_grant.session_id:
            extra["sid"] = user_grant.session_id
    return bound_claims(extra)


class TokenIssuer:
    """Builds and signs access tokens and assembles the token response.

    :param catalog: the scope catalog (audiences).
    :param signing_keys: the signing keys whose active signer signs.
    :param issuer: the ``iss`` value.
    :param access_token_ttl: lifetime in seconds.
    :param on_issued: called with the grant type after each issue (metrics).
    :param companions: audiences that ride along with any resource (the issuer's UserInfo).
    :param directory: the registered resources (None: only the catalog's audiences).
    """

    def __init__(self, *, catalog: Catalog, signing_keys: SigningKeys, issuer: str,
                 access_token_ttl: int, on_issued: Callable[[str], None] | None = None,
                 companions: tuple[str, ...] = (),
                 directory: ResourceDirectory | None = None) -> None:
        self.catalog = catalog
        self.directory = directory
        self.companions = companions
        self.signing_keys = signing_keys
        self.issuer = issuer
        self.access_token_ttl = access_token_ttl
        self.response_hooks: list[ResponseHook] = []
        # Per scope set (the catalog is immutable): its default audience, and its text.
        self._audiences: dict[frozenset[str], tuple[str, ...]] = {}
        self._scope_text: dict[frozenset[str], str] = {}
        self._targets: dict[tuple[Resource, frozenset[str], frozenset[str], bool], Target] = {}
        self._on_issued = on_issued

    def audience(self, permitted_scopes: Iterable[str], scopes: Iterable[str],
                 resources: Iterable[str] = ()) -> tuple[str, ...]:
        """The ``aud`` a token for ``scopes`` would get (a request checks it up front).

        :raises InvalidTarget: as :func:`resolve_audience`.
        """
        return resolve_audience(self.catalog, self.issuer, permitted_scopes, scopes,
                                resources, self.companions)

    async def target(self, permitted_scopes: Iterable[str], scopes: frozenset[str],
                     resources: Iterable[str] = (), *, defaulted: bool = False) -> Target:
        """The ``aud`` and scopes of a token for ``scopes`` and the ``resource`` values.

        A registered resource narrows the scopes to what it offers (see
        :func:`registered_target`); anything else goes through :func:`resolve_audience`.

        :param defaulted: the request had no ``scope``: for a registered resource, take
            everything of its offer that ``permitted_scopes`` allows.
        :raises InvalidTarget: an unknown, malformed or not permitted resource.
        :raises InvalidScope: the resource offers none of the scopes.
        """
        wanted = tuple(dict.fromkeys(resources))
        if len(wanted) == 1 and self.directory is not None \
                and wanted[0] not in self.directory.static:
            registered = (await self.directory.registered()).get(wanted[0])
            if registered is not None:
                return self._registered_target(registered, frozenset(permitted_scopes),
                                               scopes, defaulted)
        return Target(self.audience(permitted_scopes, scopes, wanted), scopes)

    def _registered_target(self, resource: Resource, permitted: frozenset[str],
                           scopes: frozenset[str], defaulted: bool) -> Target:
        """:func:`registered_target`, memoised (the catalog is immutable; a changed
        resource is a new key)."""
        key = (resource, permitted, scopes, defaulted)
        found = self._targets.get(key)
        if found is None:
            if defaulted:  # the offer alone: no companion scope was asked for
                found = registered_target(self.catalog, resource, permitted, permitted)
            else:
                found = registered_target(self.catalog, resource, permitted, scopes,
                                          self.companions)
            if len(self._targets) >= _MAX_MEMO:
                self._targets.clear()
            self._targets[key] = found
        return found

    async def issue(
        self,
        *,
        client: ClientRecord,
        subject: str,
        subject_type: SubjectType,
        scopes: frozenset[str],
        resources: tuple[str, ...] = (),
        audience: tuple[str, ...] | None = None,
        permitted_scopes: frozenset[str] | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        grant_type: str,
        user_grant: UserGrant | None = None,
        defaulted: bool = False,
        ttl: int | None = None,
    ) -> dict[str, Any]:
        """Return the RFC 6749 §5.1 token response for an already-validated grant.

        :param scopes: canonical names the grant allows (already narrowed).
        :param resources: RFC 8707 ``resource`` values to check and use as ``aud``.
        :param audience: a pre-resolved audience (skips ``resources``).
        :param permitted_scopes: the scopes whose resources ``resources`` may name (the
            client's allowed scopes by default; a refresh passes its grant's).
        :param extra_claims: more access-token claims (never override registered ones).
        :param user_grant: what the response hooks (refresh token, ID token) act on;
            without it no hook runs.
        :param defaulted: the request had no ``scope`` (see :meth:`target`).
        :param ttl: a shorter lifetime than the server's (a token exchange ends with its
            subject token).
        """
        if audience is None:
            audience, scopes = await self._target_for(client, scopes, resources,
                                                      permitted_scopes, defaulted)
        aud, lifetime = audience, self.access_token_ttl if ttl is None else ttl
        scope_text = self._scope_text_for(scopes)
        extra_claims, token_type = _sign_in_and_binding(extra_claims, user_grant)
        claims = access_token_claims(
            issuer=self.issuer, subject=subject, subject_type=subject_type,
            client_id=client.client_id, audience=aud, scopes=scopes,
            ttl=lifetime, extra=extra_claims, scope=scope_text)
        token = self.signing_keys.signer.sign(claims, typ=ACCESS_TOKEN_TYP)
        response: dict[str, Any] = {"access_token": token, "token_type": token_type,
                                    "expires_in": lifetime, "scope": scope_text}
        if user_grant is not None and self.response_hooks:
            await self._run_hooks(response, Issued(client, subject, subject_type, scopes, aud,
                                                   grant_type, claims, token, user_grant))
        if self._on_issued is not None:
            self._on_issued(grant_type)
        return response

    async def _run_hooks(self, response: dict[str, Any], issued: Issued) -> None:
        for hook in self.response_hooks:
            response.update(await hook(issued))

    async def _target_for(self, client: ClientRecord, scopes: frozenset[str],
                          resources: tuple[str, ...], permitted_scopes: frozenset[str] | None,
                          defaulted: bool) -> tuple[tuple[str, ...], frozenset[str]]:
        """``aud`` and the scopes: the named ``resources`` (checked, see :meth:`target`), or
        the scopes' default audience (memoised)."""
        if resources:
            permitted = client.allowed_scopes if permitted_scopes is None else permitted_scopes
            return await self.target(permitted, scopes, resources, defaulted=defaulted)
        found = self._audiences.get(scopes)
        if found is None:
            found = resolve_audience(self.catalog, self.issuer, (), scopes,
                                     companions=self.companions)
            if len(self._audiences) < _MAX_MEMO:
                self._audiences[scopes] = found
        return found, scopes

    def _scope_text_for(self, scopes: frozenset[str]) -> str:
        """The ``scope`` value of ``scopes`` (memoised: the same few sets recur)."""
        found = self._scope_text.get(scopes)
        if found is None:
            found = format_scope(scopes)
            if len(self._scope_text) < _MAX_MEMO:
                self._scope_text[scopes] = found
        return found
