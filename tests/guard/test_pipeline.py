"""The pipeline: default order, each step replaced or left out, app callables sync or async."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scopegate.errors import AccessDenied, InvalidToken, NotFound
from scopegate.guard import (
    AccountCaller,
    AuthContext,
    BearerCheck,
    Caller,
    CallerMount,
    Declaration,
    GuardContext,
    Pipeline,
    RequestInfo,
    ResourceAuthz,
    ResourceResolver,
    ScopeCheck,
    ServiceCaller,
    WorkspaceMembershipCheck,
)

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard

pytestmark = pytest.mark.anyio


@dataclass
class App:
    id: str
    workspace: str


APPS = {"a1": App("a1", "ws1"), "a2": App("a2", "ws2")}


def request_for(app_id: str, workspace: str | None = None) -> RequestInfo:
    params = {"app_id": app_id} | ({"workspace": workspace} if workspace else {})
    return RequestInfo("POST", f"/apps/{app_id}/run", "/apps/{app_id}/run", "127.0.0.1",
                       None, params)


def resolve(ctx: GuardContext) -> App | None:
    return APPS.get(ctx.request.path_params["app_id"])


async def test_default_order(make_guard: MakeGuard) -> None:
    guard = make_guard(resolve=resolve, is_member=lambda a, w: True, authorize=lambda c: True)
    kinds = [type(s) for s in guard.pipeline.steps]
    assert kinds == [BearerCheck, ScopeCheck, ResourceResolver, WorkspaceMembershipCheck,
                     ResourceAuthz, CallerMount]


async def test_full_pipeline_with_membership_cached(server: AuthServer,
                                                    make_guard: MakeGuard) -> None:
    calls: list[tuple[str, str]] = []

    async def is_member(auth: AuthContext, workspace: str) -> bool:
        calls.append((auth.subject, workspace))
        return workspace == "ws1"

    guard = make_guard(resolve=resolve, is_member=is_member)
    token = server.mint(scope="apps:run")
    decl = Declaration(scopes=("apps:run",))
    for _ in range(3):
        ctx = guard.context(request_for("a1"), token, decl)
        caller = await guard.check(ctx, decl)
        assert isinstance(caller, AccountCaller) and ctx.resource is APPS["a1"]
        assert ctx.workspace == "ws1"
    assert calls == [("user-1", "ws1")]  # the verdict lives on the cached auth context
    ctx = guard.context(request_for("a2"), token, decl)
    with pytest.raises(AccessDenied):
        await guard.check(ctx, decl)
    with pytest.raises(AccessDenied):  # negative verdicts are cached too
        await guard.check(guard.context(request_for("a2"), token, decl), decl)
    assert calls == [("user-1", "ws1"), ("user-1", "ws2")]


async def test_resolver_none_is_404(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(resolve=resolve)
    decl = Declaration(scopes=("apps:read",))
    with pytest.raises(NotFound):
        await guard.check(guard.context(request_for("zz"), server.mint(), decl), decl)


async def test_token_bound_to_other_workspace_is_denied(server: AuthServer,
                                                        make_guard: MakeGuard) -> None:
    guard = make_guard(resolve=resolve, is_member=lambda a, w: True)
    decl = Declaration(scopes=("apps:read",))
    ctx = guard.context(request_for("a1"), server.mint(workspace="ws2"), decl)
    with pytest.raises(AccessDenied):
        await guard.check(ctx, decl)


async def test_authz_false_is_403(server: AuthServer, make_guard: MakeGuard) -> None:
    guard = make_guard(authorize=lambda ctx: ctx.auth is not None and ctx.auth.subject == "boss")
    decl = Declaration(scopes=("apps:read",))
    with pytest.raises(AccessDenied):
        await guard.check(guard.context(request_for("a1"), server.mint(), decl), decl)
    await guard.check(guard.context(request_for("a1"), server.mint(sub="boss"), decl), decl)


async def test_each_step_can_be_replaced(server: AuthServer, make_guard: MakeGuard) -> None:
    class TenantCaller(Caller):
        pass

    class AlwaysRead:
        async def __call__(self, ctx: GuardContext) -> None:
            pass  # a replacement scope policy that allows everything

    guard = make_guard()
    custom = (guard.pipeline
              .replace(ScopeCheck, AlwaysRead())
              .replace(CallerMount, CallerMount(lambda a: TenantCaller(a.subject, a.client_id,
                                                                        a.scopes))))
    decl = Declaration(scopes=("admin:users",), pipeline=custom)
    ctx = guard.context(request_for("a1"), server.mint(scope="apps:read"), decl)
    assert isinstance(await guard.check(ctx, decl), TenantCaller)


async def test_steps_can_be_left_out_but_auth_cannot(server: AuthServer,
                                                     make_guard: MakeGuard) -> None:
    guard = make_guard()
    no_scope = guard.pipeline.without(ScopeCheck)
    decl = Declaration(scopes=("admin:users",), pipeline=no_scope)
    await guard.check(guard.context(request_for("a1"), server.mint(), decl), decl)
    nobody = Declaration(scopes=("apps:read",), pipeline=Pipeline([]))
    with pytest.raises(InvalidToken):  # a pipeline that authenticates nobody refuses
        await guard.check(guard.context(request_for("a1"), server.mint(), nobody), nobody)


async def test_service_token_mounts_service_caller(server: AuthServer,
                                                   make_guard: MakeGuard) -> None:
    guard = make_guard()
    decl = Declaration(scopes=("apps:read",))
    token = server.mint(sub="svc", client_id="svc", subject_type="service")
    caller = await guard.check(guard.context(request_for("a1"), token, decl), decl)
    assert isinstance(caller, ServiceCaller) and caller.client_id == "svc"


async def test_bearer_check_twice_hits_the_limiter_once(server: AuthServer, make_guard: MakeGuard,
                                                        limiter: CountingLimiter) -> None:
    guard = make_guard()
    doubled = Pipeline([BearerCheck(guard.authenticator), *guard.pipeline.steps])
    decl = Declaration(scopes=("apps:read",), pipeline=doubled)
    await guard.check(guard.context(request_for("a1"), server.mint(), decl), decl)
    assert limiter.token_hits() == 1
