"""Slack's published Web API rate limits, kept by pacing calls instead of by running into 429s.

Each method of a tier may be called its tier's number of times a minute by the app as a whole
(Tier 3: 50, Tier 4: 100); chat.postMessage about once a second per channel. The pacer spaces
the calls of a method evenly over the minute, across all threads, so a long run keeps close to
the limit without bursting past it; a 429 that comes anyway is still waited out by the client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PER_MINUTE = {
    "files.getUploadURLExternal": 100,  # Tier 4
    "files.completeUploadExternal": 100,  # Tier 4
    "conversations.history": 50,  # Tier 3
    "conversations.members": 100,  # Tier 4
    "users.info": 100,  # Tier 4
}
PER_CHANNEL_PER_SECOND = {"chat.postMessage": 1}
# Calls leave a few percent below the limit: a thread that is late for its moment (Python's
# lock, the network) must not push the calls after it over Slack's count.
MARGIN = 1.05


class Pacer:
    """``wait(method, channel)`` returns when the call may be made. ``speed`` multiplies every
    limit (the benchmark runs Slack's limits faster against the stand-in; 1 for Slack)."""

    def __init__(self, speed: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._next: dict[tuple[str, str | None], float] = {}
        self._lock = threading.Lock()

    def interval(self, method: str, channel: str | None) -> float:
        """Seconds between two calls of ``method`` (in ``channel``); 0 for unlimited ones."""
        if method in PER_CHANNEL_PER_SECOND and channel is not None:
            return MARGIN / (PER_CHANNEL_PER_SECOND[method] * self.speed)
        if method in PER_MINUTE:
            return MARGIN * 60 / (PER_MINUTE[method] * self.speed)
        return 0.0

    def wait(self, method: str, channel: str | None = None) -> None:
        interval = self.interval(method, channel)
        if interval <= 0:
            return
        key = (method, channel if method in PER_CHANNEL_PER_SECOND else None)
        with self._lock:  # reserve the next free moment, then sleep outside the lock
            now = self._clock()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + interval
        if at > now:
            self._sleep(at - now)
