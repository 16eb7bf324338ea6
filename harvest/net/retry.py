"""Which failures are worth retrying, and how long to wait between tries."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from harvest.net.wire import TRANSIENT_ERRORS, WireResponse

if TYPE_CHECKING:
    import httpx


class TransientHTTPError(Exception):
    """A response that may succeed if asked again (5xx, or a body cut short)."""

    def __init__(self, status: int, url: str, detail: str = "") -> None:
        self.status = status
        self.url = url
        super().__init__(f"HTTP {status} from {url}" + (f": {detail}" if detail else ""))


def is_transient(exc: BaseException) -> bool:
    """Timeouts, refused or reset connections, truncated bodies and 5xx answers, from either
    client. httpx is looked up, not imported: a process that never loaded it (a release
    worker) cannot be holding one of its errors."""
    if isinstance(exc, (TransientHTTPError, *TRANSIENT_ERRORS)):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(
        exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
    )


def transient_retry(
    attempts: int = 6, max_wait: float = 60.0, initial: float = 0.5
) -> AsyncRetrying:
    """Exponential backoff with full jitter, re-raising the last error when tries run out."""
    return AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=initial, max=max_wait, jitter=initial),
        reraise=True,
    )


def raise_for_transient(response: httpx.Response | WireResponse) -> None:
    """Turn a 5xx into TransientHTTPError so the retry policy sees it."""
    if response.status_code >= 500:
        raise TransientHTTPError(response.status_code, str(response.url))
