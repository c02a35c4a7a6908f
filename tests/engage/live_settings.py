"""The real settings with the engagement rate limits lifted for live servers
that post many comments from one address (the concurrency test, bench/fanout.py)."""

from config.settings import *  # noqa: F403

ENGAGE_RATE_LIMITS = {
    "comment": (10**9, 60),
    "discussion_comment": (10**9, 60),
    "reaction": (10**9, 60),
    "flag": (10**9, 60),
}
