"""Talk to a running Home Assistant like the frontend does: onboarding, tokens, REST, websocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import itertools
import json
import time
from typing import Any
import urllib.parse
import urllib.request

import aiohttp

REQUEST_TIMEOUT = 30.0
TOKEN_MARGIN = 60.0
"""Refresh the access token when it has less than this many seconds left."""


class HassApiError(AssertionError):
    """Home Assistant answered a request with an error (carries what it said)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The account created by onboarding and the refresh token of its first login."""

    name: str
    username: str
    password: str
    client_id: str
    refresh_token: str


def _post_sync(
    url: str, *, json_body: dict[str, Any] | None = None, form: dict[str, str] | None = None
) -> Any:
    """POST without an event loop (used once per process, while setting it up)."""
    if json_body is not None:
        data, content_type = json.dumps(json_body).encode(), "application/json"
    else:
        data, content_type = urllib.parse.urlencode(form or {}).encode(), "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:  # noqa: S310
        return json.loads(answer.read())


def onboard_owner(base_url: str, *, name: str, username: str, password: str) -> Owner:
    """Create the owner over ``/api/onboarding/users`` and trade the auth code for tokens."""
    client_id = f"{base_url}/"
    created = _post_sync(
        f"{base_url}/api/onboarding/users",
        json_body={
            "client_id": client_id,
            "name": name,
            "username": username,
            "password": password,
            "language": "en",
        },
    )
    tokens = _post_sync(
        f"{base_url}/auth/token",
        form={"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id},
    )
    return Owner(name, username, password, client_id, tokens["refresh_token"])


class HassClient:
    """REST and websocket access with an access token that is refreshed before it expires."""

    def __init__(self, base_url: str, owner: Owner, session: aiohttp.ClientSession) -> None:
        """Use ``session`` for every request."""
        self.base_url = base_url
        self.owner = owner
        self.session = session
        self._access_token = ""
        self._expires_at = 0.0

    async def access_token(self) -> str:
        """A valid access token (``grant_type=refresh_token`` when the old one runs out)."""
        if time.monotonic() > self._expires_at - TOKEN_MARGIN:
            async with self.session.post(
                f"{self.base_url}/auth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.owner.refresh_token,
                    "client_id": self.owner.client_id,
                },
            ) as answer:
                body = await answer.json()
                if answer.status != 200:
                    raise HassApiError(f"token refresh failed: {answer.status} {body}")
            self._access_token = body["access_token"]
            self._expires_at = time.monotonic() + float(body["expires_in"])
        return self._access_token

    async def rest(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | None = 200,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Any:
        """Call the REST API and return the decoded answer (``timeout``: for calls that set up entries)."""
        headers = {"Authorization": f"Bearer {await self.access_token()}"}
        async with self.session.request(
            method,
            f"{self.base_url}{path}",
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(timeout),
        ) as answer:
            text = await answer.text()
            if expect is not None and answer.status != expect:
                raise HassApiError(f"{method} {path} -> {answer.status}: {text}")
            return json.loads(text) if text else None

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[HassWebSocket]:
        """An authenticated websocket connection, read continuously in the background."""
        connection = await self.session.ws_connect(f"{self.base_url}/api/websocket", autoping=True)
        try:
            hello = await connection.receive_json(timeout=REQUEST_TIMEOUT)
            assert hello["type"] == "auth_required", hello
            await connection.send_json({"type": "auth", "access_token": await self.access_token()})
            result = await connection.receive_json(timeout=REQUEST_TIMEOUT)
            if result["type"] != "auth_ok":
                raise HassApiError(f"websocket authentication failed: {result}")
            websocket = HassWebSocket(connection)
            async with websocket.reading():
                yield websocket
        finally:
            await connection.close()


class HassWebSocket:
    """Commands with ids, answers matched to them, event subscriptions.

    A background task reads all the time: aiohttp answers Home Assistant's heartbeat pings
    only while someone reads, and an unanswered ping closes the connection.
    """

    def __init__(self, connection: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self._connection = connection
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[int, Callable[[dict[str, Any]], None]] = {}
        self._closed: BaseException | None = None

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """Run the reader while the block runs."""
        reader = asyncio.create_task(self._read())
        try:
            yield
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self) -> None:
        try:
            async for message in self._connection:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                decoded = json.loads(message.data)
                for item in decoded if isinstance(decoded, list) else [decoded]:
                    self._dispatch(item)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001
            self._closed = err
        else:
            self._closed = ConnectionError("Home Assistant closed the websocket")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._closed)

    def _dispatch(self, item: dict[str, Any]) -> None:
        number = item.get("id")
        if item.get("type") == "event" and number in self._listeners:
            self._listeners[number](item["event"])
        elif number in self._pending:
            future = self._pending.pop(number)
            if not future.done():
                future.set_result(item)

    async def command(self, kind: str, timeout: float = REQUEST_TIMEOUT, **fields: Any) -> Any:
        """Send one command and return its result (raise when Home Assistant reports an error)."""
        answer = await self._send({"type": kind, **fields}, timeout)
        if not answer.get("success", False):
            raise HassApiError(f"{kind} failed: {answer.get('error')}")
        return answer.get("result")

    async def _send(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._closed is not None:
            raise ConnectionError(f"websocket is closed: {self._closed!r}")
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        await self._connection.send_json({"id": number, **message})
        try:
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._pending.pop(number, None)

    async def subscribe(
        self, listener: Callable[[dict[str, Any]], None], kind: str, **fields: Any
    ) -> Callable[[], Awaitable[None]]:
        """Subscribe (``subscribe_events``, ``subscribe_trigger`` ...); returns the unsubscribe coroutine."""
        number = next(self._ids)
        self._listeners[number] = listener
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        await self._connection.send_json({"id": number, "type": kind, **fields})
        async with asyncio.timeout(REQUEST_TIMEOUT):
            answer = await future
        if not answer.get("success", False):
            self._listeners.pop(number, None)
            raise HassApiError(f"{kind} failed: {answer.get('error')}")

        async def unsubscribe() -> None:
            self._listeners.pop(number, None)
            with contextlib.suppress(HassApiError, ConnectionError):
                await self.command("unsubscribe_events", subscription=number)

        return unsubscribe


async def wait_for(
    check: Callable[[], Awaitable[Any]],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str,
    details: Callable[[], str] = lambda: "",
) -> Any:
    """Call ``check`` until it returns something truthy; fail with ``what`` and ``details()``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}\n{details()}"
            )
        await asyncio.sleep(interval)
