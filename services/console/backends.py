"""The five services' public HTTP APIs, called with the signed-in person's token (the console's
other adapter beside its store: it never reads their databases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class BackendError(Exception):
    """A service refused or failed: its status and the problem's detail, for the page."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service = service
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class BackendUrls:
    intake: str
    triage: str
    sla: str
    problems: str
    reporting: str


class Backends:
    def __init__(self, urls: BackendUrls, client: httpx.AsyncClient) -> None:
        self._urls = urls
        self._http = client

    async def _send(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        url = getattr(self._urls, service) + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = await self._http.request(
                method, url, params=query, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            raise BackendError(service, 503, f"{service} is not reachable ({exc!r})") from None
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = str(problem.get("detail") or problem.get("title"))
            except (ValueError, AttributeError):
                detail = response.text[:300]
            raise BackendError(service, response.status_code, detail)
        return response

    async def _call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        return (await self._send(service, method, path, token, params=params, json=json)).json()

    # intake
    async def tickets(self, token: str, cursor: str | None = None, limit: int = 50) -> Any:
        return await self._call(
            "intake", "GET", "/v1/tickets", token, params={"limit": limit, "cursor": cursor}
        )

    async def ticket(self, token: str, ref: str) -> Any:
        return await self._call("intake", "GET", f"/v1/tickets/{_seg(ref)}", token)

    async def add_message(self, token: str, ref: str, body: str, visibility: str) -> Any:
        return await self._call(
            "intake",
            "POST",
            f"/v1/tickets/{_seg(ref)}/messages",
            token,
            json={"body": body, "visibility": visibility},
        )

    async def feedback(
        self, token: str, ref: str, rating: int, comment: str, confirms: bool
    ) -> Any:
        body = {"rating": rating, "comment": comment, "confirms_resolution": confirms}
        return await self._call(
            "intake", "POST", f"/v1/tickets/{_seg(ref)}/feedback", token, json=body
        )

    async def attachment(self, token: str, ref: str, attachment_id: str) -> httpx.Response:
        path = f"/v1/tickets/{_seg(ref)}/attachments/{_seg(attachment_id)}"
        return await self._send("intake", "GET", path, token)

    # triage
    async def queues(self, token: str) -> Any:
        return await self._call("triage", "GET", "/v1/queues", token, params={"limit": 200})

    async def queue_work(self, token: str, queue: str, cursor: str | None, limit: int) -> Any:
        return await self._call(
            "triage",
            "GET",
            f"/v1/queues/{_seg(queue)}/work-items",
            token,
            params={"limit": limit, "cursor": cursor},
        )

    async def my_work(self, token: str, agent_id: str, cursor: str | None, limit: int) -> Any:
        return await self._call(
            "triage",
            "GET",
            "/v1/work-items",
            token,
            params={"assignee": agent_id, "limit": limit, "cursor": cursor},
        )

    async def work_item(self, token: str, ticket_id: str) -> Any:
        return await self._call("triage", "GET", f"/v1/work-items/{_seg(ticket_id)}", token)

    async def claim(self, token: str, ticket_id: str) -> Any:
        return await self._call("triage", "POST", f"/v1/work-items/{_seg(ticket_id)}/claim", token)

    async def resolve(self, token: str, ticket_id: str, resolution: str) -> Any:
        return await self._call(
            "triage",
            "POST",
            f"/v1/work-items/{_seg(ticket_id)}/resolve",
            token,
            json={"resolution": resolution},
        )

    # sla
    async def clock(self, token: str, ticket_id: str) -> Any:
        return await self._call("sla", "GET", f"/v1/sla/clocks/{_seg(ticket_id)}", token)


def _seg(value: str) -> str:
    """One path segment, whatever the value holds."""
    return quote(value, safe="")
