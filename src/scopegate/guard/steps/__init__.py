"""The pipeline steps, one module each; every one can be replaced or left out."""

from .authz import ResourceAuthz
from .base import Step, call_app
from .bearer import BearerCheck
from .membership import WorkspaceMembershipCheck, workspace_from_path
from .mount import CallerMount, default_caller
from .resolver import ResourceResolver
from .scope import ScopeCheck

__all__ = [
    "BearerCheck",
    "CallerMount",
    "ResourceAuthz",
    "ResourceResolver",
    "ScopeCheck",
    "Step",
    "WorkspaceMembershipCheck",
    "call_app",
    "default_caller",
    "workspace_from_path",
]
