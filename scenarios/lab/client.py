"""A small synchronous client for the lab's control API (issue 5 §3), on the standard library only.

Scenarios, the pytest plugin and users' own scripts drive a running lab with it::

    lab = LabClient("http://127.0.0.1:8700")
    lab.reset()
    lab.mo("kaleyra", sender="+13175550101", to="8005550100", text="hello")
    lab.wait_for(lab.interactions, lambda found: len(found) == 1, timeout=5)

Every method maps to one route; a 4xx or 5xx answer raises ``LabError`` carrying the status and the
decoded JSON body (``{"error": "..."}``), so a refused request can be asserted on like any other value.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["LabClient", "LabError", "WaitTimeout", "lab_url"]

T = TypeVar("T")
PREFIX = "/_smslab"


class LabError(Exception):
    """The control API answered with a 4xx or 5xx status (or could not be reached: status 0).

    Attributes:
        status: the HTTP status; 0 when no answer came at all.
        body: the decoded JSON body when it was JSON, else the text.
        method: the request's method.
        url: the request's URL.
    """

    def __init__(self, status: int, body: Any, method: str = "", url: str = "") -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        where = f"{method} {url}".strip()
        super().__init__(f"{where + ' -> ' if where else ''}{status}: {self.error}")

    @property
    def error(self) -> str:
        """The ``error`` text of a JSON error body, else the body as text."""
        if isinstance(self.body, Mapping) and "error" in self.body:
            return str(self.body["error"])
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


class WaitTimeout(AssertionError):
    """``wait_for`` ran out of time; ``last`` is the last value fetched (``None`` if none came)."""

    def __init__(self, message: str, last: Any) -> None:
        super().__init__(message)
        self.last = last


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _decode(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def lab_url(url: str) -> str:
    """The lab's base URL from either form a user may paste: ``http://h:p`` or ``http://h:p/_smslab/``."""
    base = url.rstrip("/")
    return base[: -len(PREFIX)] if base.endswith(PREFIX) else base


class LabClient:
    """The control API of one lab.

    Args:
        base_url: the lab's URL, e.g. ``http://127.0.0.1:8700``; the control API's own URL, as ``smslab up``
            prints it (``http://127.0.0.1:8700/_smslab/``), means the same lab.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = lab_url(base_url)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LabClient({self.base_url!r})"

    # -- plumbing -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                query: Mapping[str, str] | None = None) -> Any:
        """Send one request to the control API and return its decoded JSON answer.

        Args:
            method: the HTTP method.
            path: the path under the lab's URL, e.g. ``/_smslab/health``.
            body: a JSON-able body, or ``None`` for none.
            query: query parameters; empty values are left out.

        Raises:
            LabError: the answer's status is 4xx or 5xx, or the lab cannot be reached (status 0).
        """
        url = self.base_url + path
        params = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return _decode(resp.read(), resp.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as exc:
            payload = _decode(exc.read(), exc.headers.get("Content-Type", "") if exc.headers else "")
            exc.close()
            raise LabError(exc.code, payload, method, url) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LabError(0, {"error": f"cannot reach the lab: {reason}"}, method, url) from None

    # -- routes -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /_smslab/health``: components, node roles, farm health and switchover status."""
        return dict(self.request("GET", f"{PREFIX}/health"))

    def brokers(self) -> list[dict[str, Any]]:
        """``GET /_smslab/brokers``: every fake broker with its kind and URL."""
        return list(self.request("GET", f"{PREFIX}/brokers")["brokers"])

    def messages(self, broker: str, *, kind: str = "", to: str = "",
                 sender: str = "") -> list[dict[str, Any]]:
        """``GET /_smslab/brokers/{broker}/messages``, page after page: every captured MT, MO and DLR
        record the fake still holds, filtered, oldest first."""
        found, after = self.messages_page(broker, kind=kind, to=to, sender=sender)
        while after is not None:
            page, after = self.messages_page(broker, after=after, kind=kind, to=to, sender=sender)
            found.extend(page)
        return found

    def messages_page(self, broker: str, limit: int | None = None, after: int | None = None, *,
                      kind: str = "", to: str = "",
                      sender: str = "") -> tuple[list[dict[str, Any]], int | None]:
        """``GET /_smslab/brokers/{broker}/messages``: one page of a fake's captured records, oldest first.

        Args:
            limit: at most this many (the fake's default page, 1000, when ``None``; at most 10000).
            after: the ``next`` of the previous page, a record's ``seq`` (``None``: the first page).

        Returns:
            The records and the ``seq`` to ask after for the next page (``None`` on the last page).
        """
        query = {"kind": kind, "to": to, "from": sender, "limit": "" if limit is None else str(limit),
                 "after": "" if after is None else str(after)}
        path = f"{PREFIX}/brokers/{_q(broker)}/messages"
        answer = self.request("GET", path, query={k: v for k, v in query.items() if v})
        following = answer.get("next")
        return list(answer["messages"]), None if following is None else int(following)

    def clear_messages(self, broker: str) -> Any:
        """``DELETE /_smslab/brokers/{broker}/messages``: forget that broker's captures."""
        return self.request("DELETE", f"{PREFIX}/brokers/{_q(broker)}/messages")

    def mo(self, broker: str, *, sender: str, to: str, text: str) -> dict[str, Any]:
        """``POST /_smslab/brokers/{broker}/mo``: the broker pushes that MO through the proxy."""
        path = f"{PREFIX}/brokers/{_q(broker)}/mo"
        return dict(self.request("POST", path, {"from": sender, "to": to, "text": text}))

    def send(self, to: str, text: str, *, sender: str = "", account: str = "", classification: str = "",
             interaction_id: str = "") -> dict[str, Any]:
        """``POST /_smslab/send``: an agent sends an MT; returns the node's answer."""
        body: dict[str, str] = {"to": to, "text": text}
        extra = {"from": sender, "account": account, "classification": classification,
                 "interaction_id": interaction_id}
        body.update({k: v for k, v in extra.items() if v})
        return dict(self.request("POST", f"{PREFIX}/send", body))

    def interactions(self, *, customer: str | None = None, state: str | None = None,
                     since: float | None = None) -> list[dict[str, Any]]:
        """``GET /_smslab/interactions``, page after page: every matching interaction, oldest first.

        Args:
            customer: only this customer number (exact).
            state: only interactions in this state (active, idle or disconnected).
            since: only interactions updated at or after this time (seconds, the node's clock).

        Raises:
            LabError: a page was refused (a bad filter: 400) or the lab could not answer.
        """
        found, cursor = self.interactions_page(customer=customer, state=state, since=since)
        while cursor is not None:
            page, cursor = self.interactions_page(cursor=cursor, customer=customer, state=state, since=since)
            found.extend(page)
        return found

    def interactions_page(self, limit: int | None = None, cursor: str | None = None, *,
                          customer: str | None = None, state: str | None = None,
                          since: float | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """``GET /_smslab/interactions``: one page of the active node's interactions, oldest first.

        Args:
            limit: at most this many (the lab's default page when ``None``; at most 1000).
            cursor: the ``next`` of the previous page (``None``: the first page).
            customer: only this customer number (exact).
            state: only interactions in this state (active, idle or disconnected).
            since: only interactions updated at or after this time (seconds, the node's clock).

        Returns:
            The page's interactions and the cursor of the page after it (``None`` on the last page).

        Raises:
            LabError: the page was refused (a bad parameter: 400) or the lab could not answer.
        """
        given = {"limit": limit, "cursor": cursor, "customer": customer, "state": state, "since": since}
        query = {k: v if isinstance(v, str) else repr(v) for k, v in given.items() if v is not None}
        answer = self.request("GET", f"{PREFIX}/interactions", query=query)
        following = answer.get("next")
        return list(answer["interactions"]), None if following is None else str(following)

    def fail(self, node: str, mode: str) -> Any:
        """``POST /_smslab/nodes/{node}/fail`` with ``{"mode": mode}``."""
        return self.request("POST", f"{PREFIX}/nodes/{_q(node)}/fail", {"mode": mode})

    def restore(self, node: str) -> Any:
        """``POST /_smslab/nodes/{node}/restore``."""
        return self.request("POST", f"{PREFIX}/nodes/{_q(node)}/restore", {})

    def switchover(self) -> Any:
        """``POST /_smslab/switchover``: a manual switchover."""
        return self.request("POST", f"{PREFIX}/switchover", {})

    def reset(self) -> Any:
        """``POST /_smslab/reset``: captures, interactions and faults back to the start."""
        return self.request("POST", f"{PREFIX}/reset", {})

    def timeline(self) -> list[dict[str, Any]]:
        """``GET /_smslab/timeline``: the pair's timeline of faults, transitions and recoveries."""
        answer = self.request("GET", f"{PREFIX}/timeline")
        return list(answer["timeline"] if isinstance(answer, dict) else answer)

    def received(self, node: str, kind: str = "") -> list[dict[str, Any]]:
        """``GET /_smslab/nodes/{node}/received``: what an external member handed to the lab's sink (its MOs
        and DLRs), oldest first; ``kind`` (``mo``, ``dlr``) keeps one kind."""
        answer = self.request("GET", f"{PREFIX}/nodes/{_q(node)}/received", query={"kind": kind})
        return list(answer["received"])

    def openapi(self) -> dict[str, Any]:
        """``GET /_smslab/openapi.json``: the control API's OpenAPI document."""
        return dict(self.request("GET", f"{PREFIX}/openapi.json"))

    def nexus_interactions(self, *, kind: str = "", section: str = "") -> list[dict[str, Any]]:
        """``GET /_smslab/nexus/interactions``: Digital Channels' interactions (``kind``: chat or
        campaign_response; ``section``: a ``chat.<name>`` sender section)."""
        query = {"kind": kind, "section": section}
        return list(self.request("GET", f"{PREFIX}/nexus/interactions", query=query))

    def nexus_reply(self, interaction: str, text: str) -> dict[str, Any]:
        """``POST /_smslab/nexus/interactions/{id}/reply``: an agent's reply, sent through the provider."""
        return dict(self.request("POST", f"{PREFIX}/nexus/interactions/{interaction}/reply", {"text": text}))

    def nexus_campaign(self, section: str, template: str, recipients: list[dict[str, Any]],
                       rate: float = 10.0) -> dict[str, Any]:
        """``POST /_smslab/nexus/campaigns``: a CX Contact campaign (``nexus_campaigns`` follows it)."""
        body = {"section": section, "template": template, "recipients": recipients, "rate": rate}
        return dict(self.request("POST", f"{PREFIX}/nexus/campaigns", body))

    def nexus_campaigns(self) -> list[dict[str, Any]]:
        """``GET /_smslab/nexus/campaigns``: every campaign and each recipient's state."""
        return list(self.request("GET", f"{PREFIX}/nexus/campaigns"))

    def nexus_interaction(self, interaction: str) -> dict[str, Any]:
        """``GET /_smslab/nexus/interactions/{id}``: one interaction with its messages' states."""
        return dict(self.request("GET", f"{PREFIX}/nexus/interactions/{interaction}"))

    # -- waiting ------------------------------------------------------------------------------------

    def wait_for(self, fetch: Callable[[], T], predicate: Callable[[T], Any] | None = None,
                 timeout: float = 5.0, interval: float = 0.05) -> T:
        """Call ``fetch`` until ``predicate`` holds for its value; return that value.

        With ``predicate`` omitted, ``fetch`` is itself the condition: it is polled until it returns a
        truthy value (``lab.wait_for(lambda: lab.health()["switchover"]["active"] == "backup")``).
        A ``LabError`` from ``fetch`` counts as "not yet" (a lab in the middle of a switchover may refuse
        for a moment); the last one is named if time runs out.

        Args:
            fetch: reads the current state (e.g. ``self.interactions``).
            predicate: the condition on that state.
            timeout: seconds before giving up.
            interval: seconds between polls.

        Raises:
            WaitTimeout: ``timeout`` seconds passed; carries the last value fetched.
        """
        check: Callable[[T], Any] = predicate if predicate is not None else bool
        deadline = time.monotonic() + timeout
        last: T | None = None
        error: LabError | None = None
        while True:
            try:
                last = fetch()
                error = None
                if check(last):
                    return last
            except LabError as exc:
                error = exc
            if time.monotonic() >= deadline:
                why = f"; last error: {error}" if error else ""
                raise WaitTimeout(f"condition not met within {timeout:g}s{why}", last)
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
