"""Small helpers of the host-layer tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from helpers.testhosts import TestHost

from sealer.infra import Host, SSHConfig, connect

T = TypeVar("T")


def with_host(th: TestHost, fn: Callable[[Host], Awaitable[T]], ssh: SSHConfig | None = None) -> T:
    """Connect to a test host, run ``fn`` on it in a fresh event loop, close."""

    async def main() -> T:
        host = await connect(th.address, ssh or th.ssh_config)
        try:
            return await fn(host)
        finally:
            await host.close()

    return asyncio.run(main())


def wait_until(cond: Callable[[], bool], timeout: float = 10) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()
