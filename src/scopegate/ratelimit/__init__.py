"""Sliding-window rate limiting: in-process memory, or Redis shared by every replica."""

from ._base import Decision, RateLimiter

__all__ = ["Decision", "RateLimiter"]
