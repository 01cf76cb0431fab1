"""A pure ASGI middleware that times every HTTP request and hands the result to a recorder.

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``), so timing a request costs
microseconds, not a task switch. Each service decides what to record (its labels, its
counters) in the ``record(scope, status, seconds)`` callable it passes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Recorder = Callable[[Scope, int, float], None]


class TimingMiddleware:
    """Calls ``record(scope, status, seconds)`` once per HTTP request, errors included
    (a request that raised is recorded with status 500)."""

    def __init__(self, app: ASGIApp, record: Recorder):
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.record(scope, status["code"], time.perf_counter() - started)
