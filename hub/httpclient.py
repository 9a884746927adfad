"""Talking to other systems' HTTP APIs: one client with the retry, backoff and rate-limit rules.

Timeouts, connection errors, 5xx and 429 are retried with exponential backoff and full jitter
(tenacity), and a ``Retry-After`` the server sends is honoured instead; other 4xx are not
retried, because asking again will not change the answer. A connector sends the same request
(same body, same ``Idempotency-Key``) on every retry, so a retried write is applied once.
Secrets in URLs or messages never leave here: errors name the host and path, not the query.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub import exactjson
from hub.errors import ConnectorError, TransientDeliveryError
from hub.secrets import redactor
from hub.text.controls import escape_controls

if TYPE_CHECKING:
    import httpx

    from hub.sdk import Delivery, WriteResult

# httpx and tenacity are imported where a client is built or a request sent, not here: every
# hub command loads the connectors that use this module, and most of them never talk HTTP
# (httpx with its asyncio and ssl costs about 25 ms of every start-up).

__all__ = [
    "POLICY_SETTINGS",
    "HttpClient",
    "HttpPolicy",
    "Refused",
    "Unavailable",
    "not_json",
    "parse_retry_after",
    "send_groups",
    "send_in_halves",
]

# The settings a connector offers for its HttpPolicy (spread into its settings schema's
# properties): one declaration, so that every HTTP connector names and bounds them alike.
POLICY_SETTINGS = {
    "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30, "description": "Seconds to wait for one answer"},
    "retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": 20,
        "default": 5,
        "description": "Retries of one request before the batch waits for the next run",
    },
    "backoff": {"type": "number", "minimum": 0, "default": 0.5, "description": "First backoff in seconds; doubles each retry, with jitter"},
    "max_backoff": {"type": "number", "minimum": 0, "default": 30, "description": "Longest backoff in seconds"},
    "rate_limit": {"type": "number", "exclusiveMinimum": 0, "description": "Requests per second at most (spare a small server)"},
}


@dataclass(frozen=True)
class HttpPolicy:
    """How patient to be: per-request timeout, retries, backoff base and cap, requests per second."""

    timeout: float = 30.0
    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    rate_limit: float | None = None

    @classmethod
    def from_settings(cls, settings: dict) -> HttpPolicy:
        """The policy a connector's settings ask for (keys timeout, retries, backoff, max_backoff, rate_limit)."""
        return cls(**{k: settings[k] for k in POLICY_SETTINGS if settings.get(k) is not None})


class Unavailable(Exception):
    """Still failing after every retry (or not worth retrying yet): try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """A 4xx other than 429: the server will not take this request as it is."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def not_json(resp: httpx.Response, where: str, exc: Exception) -> str:
    """Why an answer that should be JSON is not, in words a connector's author can act on.

    The usual cause is a page where an API was expected: a login page once a session lapsed,
    a proxy's error page, the web site at the API's address. Its content type says so.
    """
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if "html" in ctype:
        said = (
            f"{where} answered an HTML page (status {resp.status_code}), not JSON: a login or error page? check the url and the credentials"
        )
    else:
        said = f"{where} did not answer JSON ({ctype or 'no content type'}, {len(resp.content)} bytes): {exc}"
    return escape_controls(redactor.redact(said))


def _body(resp: httpx.Response) -> Any:
    try:
        return exactjson.loads_answer(resp.content)
    except ValueError:
        return resp.text[:500]


class HttpClient:
    """An httpx client for one base URL with the retry policy; ``request`` returns a 2xx/3xx response."""

    def __init__(
        self, base_url: str, *, policy: HttpPolicy, headers: dict | None = None, auth: httpx.Auth | None = None, name: str = "http"
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.name = name
        self._client = httpx.Client(
            timeout=policy.timeout, headers={"User-Agent": "wasl-hub", "Accept": "application/json", **(headers or {})}, auth=auth
        )
        self._lock = threading.Lock()
        self._last = 0.0

    def url(self, path: str) -> str:
        """``path`` against the base URL (an absolute URL, such as a next link, is kept)."""
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def same_site(self, link: str, *, where: str) -> str:
        """``link`` (a next page an API named) as a URL, if it stays on this client's site.

        The connection's credentials go with every request, so a link to another host (a
        partner's bug, or an answer someone tampered with) would hand that host the token.
        ConnectorError instead, naming the other site but not the link's query.
        """
        import httpx

        there, home = httpx.URL(self.url(link)), httpx.URL(self.base_url)
        if (there.scheme, there.host, there.port) != (home.scheme, home.host, home.port):
            site = f"{there.scheme}://{there.host}{f':{there.port}' if there.port else ''}"
            raise ConnectorError(
                f"{self.name}: {where} gave a next page on another site ({site}); the connection's credentials are not sent there",
                hint="if the API moved, change the connection's url",
            )
        return str(there)

    def _pace(self) -> None:
        if not self.policy.rate_limit:
            return
        with self._lock:
            wait = self._last + 1.0 / self.policy.rate_limit - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()

    def _once(self, method: str, url: str, where: str, **kwargs) -> httpx.Response:
        import httpx

        self._pace()
        try:
            resp = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise _Retryable(f"{self.name}: {where} timed out after {self.policy.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"{self.name}: cannot reach {where}: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"{self.name}: {where} answered {resp.status_code}", parse_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code >= 400:
            body = _body(resp)
            detail = body.get("detail") if isinstance(body, dict) else body
            said = escape_controls(str(detail))  # the partner's words are kept, stored and shown: as text
            raise Refused(redactor.redact(f"{self.name}: {where} refused the request ({resp.status_code}): {said}"), resp.status_code, body)
        return resp

    def _wait(self, state) -> float:
        from tenacity import wait_random_exponential

        exc = state.outcome.exception()
        if getattr(exc, "retry_after", None) is not None:
            return min(exc.retry_after, max(self.policy.max_backoff, 1.0) * 10)
        return wait_random_exponential(multiplier=self.policy.backoff, max=self.policy.max_backoff)(state)

    def request(self, method: str, path: str, *, retries: int | None = None, **kwargs) -> httpx.Response:
        """Send with retries (the policy's, or ``retries``); Unavailable when they run out, Refused for a 4xx that is final."""
        import httpx
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

        url = self.url(path)
        parts = httpx.URL(url)
        where = f"{parts.host}{f':{parts.port}' if parts.port else ''}{parts.path}"  # never the query: it may hold a key
        retries = self.policy.retries if retries is None else retries
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(retries + 1),
                wait=self._wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return self._once(method, url, where, **kwargs)
        except _Retryable as exc:
            raise Unavailable(redactor.redact(f"{exc} ({retries + 1} tries)"), exc.retry_after) from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    def json(self, method: str, path: str, **kwargs) -> Any:
        """``request`` and parse the JSON answer (Refused-like Unavailable if it is not JSON)."""
        import httpx

        resp = self.request(method, path, **kwargs)
        try:
            return exactjson.loads_answer(resp.content)
        except ValueError as exc:
            raise Unavailable(not_json(resp, f"{self.name}: {httpx.URL(self.url(path)).path}", exc)) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def batch_key(prefix: str, entity: str, keys: Sequence[str]) -> str:
    """The Idempotency-Key of a request carrying several record versions: a digest of all of them.

    The same versions always give the same key, and any other set another: a key made of the
    first version and the count named two different batches alike.
    """
    import hashlib

    h = hashlib.sha256(entity.encode())
    for k in keys:
        h.update(b"\x1f" + k.encode())
    return f"{prefix}-{h.hexdigest()[:40]}"


def _in_turn(parts: Sequence[Sequence[Delivery]], send: Callable[[Sequence[Delivery]], None]) -> None:
    """``send`` each part, one after the other; a part that fails for now ends it.

    Its TransientDeliveryError then names, beside what that part itself delivered, every
    delivery of the parts before it, which the destination took.
    """
    sent: list[str] = []
    for part in parts:
        try:
            send(part)
        except TransientDeliveryError as exc:
            raise TransientDeliveryError(
                str(exc), retry_after=exc.retry_after, delivered=[*sent, *exc.delivered], rejected=exc.rejected
            ) from None
        sent += [d.idempotency_key for d in part]


def send_groups(groups: Sequence[Sequence[Delivery]], send: Callable[[Sequence[Delivery]], None], result: WriteResult) -> WriteResult:
    """Send a batch's ``groups`` (one request each) in turn with ``send``, which fills ``result``.

    A group that fails for now (TransientDeliveryError) ends the batch, naming the deliveries
    the destination took in the groups before it and those it refused: only the rest are sent
    again, so a partner that ignores ``Idempotency-Key`` does not get them twice.
    """
    try:
        _in_turn(groups, send)
    except TransientDeliveryError as exc:
        taken = [k for k in exc.delivered if k not in result.rejected]
        raise TransientDeliveryError(str(exc), retry_after=exc.retry_after, delivered=taken, rejected=result.rejected) from None
    return result


def send_in_halves(
    group: Sequence,
    send: Callable[[Sequence], None],
    *,
    refused: Callable[[Sequence, Refused], None],
    too_large: Callable[[int], None],
    auth_hint: str,
) -> None:
    """Send a destination's ``group`` of deliveries with ``send``, answering its HTTP failures alike.

    - retries spent, or the server busy (Unavailable): TransientDeliveryError, the group waits;
    - 401/403: ConnectorError with ``auth_hint``, since no record is at fault and the run fails;
    - 413 for more than one record: ``too_large(len(group))`` is told, then each half is sent
      the same way, since the size is at fault, not the records (each half builds its own
      request, so its own idempotency key); a half that fails for now names the deliveries the
      halves before it sent (``TransientDeliveryError.delivered``);
    - any other 4xx: ``refused(group, exc)``, which rejects those records with the server's words.
    """
    try:
        send(group)
    except Unavailable as exc:
        raise TransientDeliveryError(str(exc), retry_after=exc.retry_after) from None
    except Refused as exc:
        if exc.status in (401, 403):
            raise ConnectorError(str(exc), hint=auth_hint) from None
        if exc.status == 413 and len(group) > 1:
            too_large(len(group))
            half = len(group) // 2
            _in_turn(
                (group[:half], group[half:]),
                lambda part: send_in_halves(part, send, refused=refused, too_large=too_large, auth_hint=auth_hint),
            )
            return
        refused(group, exc)
