"""The SMS core protocol over HTTP, sans-IO: what each call sends, what it answers, and both ends' logic.

A core in any language can serve this (README, "Your own core over HTTP"; the OpenAPI document is
``GET /openapi.json`` of ``smslab serve core``). Every body is JSON; every call is a ``POST``:

- ``POST /cores`` ``{"config": {sms, brokers, server_parameters, web_services}}`` makes a core from the CIC
  sections of a lab file and answers ``201 {"core": "<id>"}``; ``DELETE /cores/<id>`` lets it go.
- ``POST /cores/<id>/<call>`` runs one ``SmsCore`` call (``CALLS``) and answers ``200`` with its result.

Times, ids and concatenation references are passed in, as in process: ``now`` is in the body of every
call that takes it; every call carries ``ids`` (fresh ids, in the order the core should use them) and
``reference`` (``{"next": n, "modulus": m}``: the core hands out ``n``, ``n + 1``, ... modulo ``m``), and
its answer says ``used_ids`` (how many of ``ids`` it took, from the front) and ``next_reference`` (the
reference it would hand out next). The caller keeps the ids it did not take for the next call, so a run
gives the same ids over HTTP as in process. A call may use at most ``IDS_PER_CALL`` ids.

An error answers a 4xx or 5xx status with ``{"error": "<sentence>"}``: 400 for a body the server cannot
read, 404 for an unknown core (the server restarted: the caller makes a new one), 500 when the core
itself raised.

``CoreClient`` is the caller's half (the node's async adapter and ``smslab conformance --core-url`` put a
transport around it); ``CoreHost`` is the server's half (``smslab serve core`` puts aiohttp around it).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sim.core import codec
from sim.core.config import CicConfig
from sim.core.errors import ConfigError, InputError, UsageError
from sim.core.interactions import SNAPSHOT_VERSION, Interaction, InteractionState
from sim.core.protocol import CoreContext, CoreFactory, Received, Refused, Sent, SmsCore
from sim.core.segmentation import ReferenceCounter, ReferenceSize
from sim.core.types import DeliveryReceipt, InboundSms, MtRequest, OutboundSms
from sim.core.validation import load_cic_config

__all__ = ["CALLS", "IDS_PER_CALL", "CoreCallError", "CoreClient", "CoreHost", "CoreLost", "RemoteSmsCore",
           "Transport"]

IDS_PER_CALL = 4
CORES_LIMIT = 64  # cores a server holds at once; the least recently used goes first
DEFAULT_MODULUS = 256

#: call -> the fields of its body besides ``ids`` and ``reference`` (what ``CoreClient.request`` takes).
CALLS: dict[str, tuple[str, ...]] = {
    "receive": ("sms", "now"), "send": ("message", "now"), "due": ("now",), "next_due": (),
    "delivery_receipt": ("receipt", "now"), "interaction": ("interaction_id",),
    "set_state": ("interaction_id", "state"), "forget": ("interaction_id",), "interactions": (),
    "snapshot": (), "restore": ("snapshot",),
}


class CoreCallError(InputError):
    """A core over HTTP could not make a decision: unreachable, too slow, or its answer was unusable.

    It carries 503, so a broker's push gets a status it retries and an agent's send a clear refusal.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, 503)


class CoreLost(CoreCallError):
    """The server no longer knows the core (it restarted); the next call makes a new one."""


# -- the caller's half -------------------------------------------------------------------------------------


class CoreClient:
    """What a caller of a core over HTTP keeps: the core's id, unused ids, the reference counter.

    Args:
        config: the CIC configuration the core is made with (its ``source``, the lab file's sections) and
            the outbound routes answers are read against.
        context: the caller's id source and reference counter (a ``ReferenceCounter``: its state is
            passed in each call).
        url: the served core's base URL, for messages.

    Raises:
        UsageError: ``context.next_reference`` is not a ``ReferenceCounter``.
    """

    def __init__(self, config: CicConfig, context: CoreContext, url: str) -> None:
        if not isinstance(context.next_reference, ReferenceCounter):
            raise UsageError("a core over HTTP needs a ReferenceCounter as its next_reference")
        self.config = config
        self.url = url.rstrip("/")
        self.core_id: str | None = None
        self._new_id = context.new_id
        self._references: ReferenceCounter = context.next_reference
        self._ids: list[str] = []

    def drop_ids(self) -> None:
        """Forget the ids kept for the next call (a call failed after it was sent: they may be used)."""
        self._ids.clear()

    def create_request(self) -> tuple[str, dict[str, Any]]:
        """The path and body that make the core."""
        return "/cores", {"config": dict(self.config.source)}

    def created(self, status: int, data: Any) -> str:
        """Read the answer to ``create_request``; the core's id.

        Raises:
            CoreCallError: the server refused, or answered something else.
        """
        if status != 201:
            raise CoreCallError(f"core at {self.url} refused to make a core: {_error_of(status, data)}")
        core = data.get("core") if isinstance(data, dict) else None
        if not isinstance(core, str) or not core or "/" in core:
            raise CoreCallError(f"core at {self.url} answered the making of a core badly: {data!r}")
        self.core_id = core
        return core

    def request(self, call: str, **args: Any) -> tuple[str, dict[str, Any]]:
        """The path and body of one call (``args`` are its ``CALLS`` fields, as core values)."""
        if self.core_id is None:
            raise UsageError("make the core first (create_request)")
        while len(self._ids) < IDS_PER_CALL:
            self._ids.append(self._new_id())
        following, modulus = self._references.state
        body: dict[str, Any] = {"ids": list(self._ids), "reference": {"next": following, "modulus": modulus}}
        for name in CALLS[call]:
            body[name] = _encode(name, args[name])
        return f"/cores/{self.core_id}/{call}", body

    def answer(self, call: str, status: int, data: Any) -> Any:
        """Read one call's answer into core values.

        Raises:
            CoreLost: the server does not know the core (the next ``request`` needs a new one).
            CoreCallError: an error status, or an answer that is not what ``call`` returns.
        """
        if status == 404:
            self.core_id = None
            raise CoreLost(f"core at {self.url} no longer knows this core (restarted?): "
                           f"{_error_of(status, data)}; the next call makes a new, empty one")
        if status != 200:
            raise CoreCallError(f"core at {self.url} failed {call}: {_error_of(status, data)}")
        if not isinstance(data, dict):
            raise CoreCallError(f"core at {self.url} answered {call} with {data!r}, not a JSON object")
        try:
            used = data.get("used_ids", 0)
            following = data.get("next_reference", self._references.state[0])
            if isinstance(used, bool) or not isinstance(used, int) or not 0 <= used <= len(self._ids):
                raise InputError(f"'used_ids' must be an integer from 0 to {len(self._ids)} (got {used!r})")
            if isinstance(following, bool) or not isinstance(following, int):
                raise InputError(f"'next_reference' must be an integer (got {following!r})")
            value = codec.decode(f"the answer to {call}", lambda d: _READERS[call](d, self.config), data)
        except InputError as exc:
            raise CoreCallError(f"core at {self.url} answered {call} badly: {exc}") from exc
        del self._ids[:used]
        self._references.advance_to(following)
        return value


Transport = Callable[[str, str, "dict[str, Any] | None"], tuple[int, Any]]
"""A blocking HTTP exchange: ``(method, path, JSON body or None) -> (status, parsed JSON answer)``; it raises
``CoreCallError`` when the server cannot be reached, is too slow, or answers something that is not JSON."""


class RemoteSmsCore:
    """An ``SmsCore`` whose every call is answered by a core over HTTP, through a blocking ``transport``.

    For callers that may block (``smslab conformance --core-url``, scripts); a CIC node uses the
    asynchronous adapter of ``sim.cic.remote_core`` instead. The core is made on the server at the first
    call, and made again (empty) after the server forgot it.
    """

    def __init__(self, config: CicConfig, context: CoreContext, url: str, transport: Transport) -> None:
        self.client = CoreClient(config, context, url)
        self._transport = transport

    def _call(self, call: str, **args: Any) -> Any:
        if self.client.core_id is None:
            path, body = self.client.create_request()
            self.client.created(*self._transport("POST", path, body))
        path, body = self.client.request(call, **args)
        return self.client.answer(call, *self._transport("POST", path, body))

    def close(self) -> None:
        """Let the server forget the core."""
        if self.client.core_id is not None:
            self._transport("DELETE", f"/cores/{self.client.core_id}", None)
            self.client.core_id = None

    def receive(self, sms: InboundSms, now: float) -> Received:
        """``SmsCore.receive`` over HTTP."""
        return cast(Received, self._call("receive", sms=sms, now=now))

    def send(self, message: OutboundSms, now: float) -> Sent | Refused:
        """``SmsCore.send`` over HTTP."""
        return cast("Sent | Refused", self._call("send", message=message, now=now))

    def due(self, now: float) -> list[MtRequest]:
        """``SmsCore.due`` over HTTP."""
        return cast("list[MtRequest]", self._call("due", now=now))

    def next_due(self) -> float | None:
        """``SmsCore.next_due`` over HTTP."""
        return cast("float | None", self._call("next_due"))

    def delivery_receipt(self, receipt: DeliveryReceipt, now: float) -> None:
        """``SmsCore.delivery_receipt`` over HTTP."""
        self._call("delivery_receipt", receipt=receipt, now=now)

    def interaction(self, interaction_id: str) -> Interaction | None:
        """``SmsCore.interaction`` over HTTP."""
        return cast("Interaction | None", self._call("interaction", interaction_id=interaction_id))

    def set_state(self, interaction_id: str, state: InteractionState) -> Interaction | None:
        """``SmsCore.set_state`` over HTTP."""
        return cast("Interaction | None", self._call("set_state", interaction_id=interaction_id, state=state))

    def forget(self, interaction_id: str) -> bool:
        """``SmsCore.forget`` over HTTP."""
        return cast(bool, self._call("forget", interaction_id=interaction_id))

    def interactions(self) -> list[Interaction]:
        """``SmsCore.interactions`` over HTTP."""
        return cast("list[Interaction]", self._call("interactions"))

    def snapshot(self) -> dict[str, Any]:
        """``SmsCore.snapshot`` over HTTP."""
        return cast("dict[str, Any]", self._call("snapshot"))

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """``SmsCore.restore`` over HTTP."""
        self._call("restore", snapshot=snapshot)


def _encode(name: str, value: Any) -> Any:
    if name == "sms":
        return codec.inbound_sms_to_json(value)
    if name == "message":
        return codec.outbound_sms_to_json(value)
    if name == "receipt":
        return codec.receipt_to_json(value)
    if name == "state":
        return value.value
    if name == "snapshot":
        return dict(value)
    return value


def _error_of(status: int, data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    return f"HTTP {status}" + (f": {error}" if isinstance(error, str) else "")


def _optional_number(data: Mapping[str, Any]) -> float | None:
    value = data["next_due"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'next_due' must be a number or null (got {value!r})")
    return float(value)


def _forgotten(data: Mapping[str, Any]) -> bool:
    value = data["forgotten"]
    if not isinstance(value, bool):
        raise TypeError(f"'forgotten' must be true or false (got {value!r})")
    return value


def _snapshot(data: Mapping[str, Any]) -> dict[str, Any]:
    value = data["snapshot"]
    if not isinstance(value, dict):
        raise TypeError(f"'snapshot' must be an object (got {value!r})")
    return value


_READERS: dict[str, Callable[[Mapping[str, Any], CicConfig], Any]] = {
    "receive": lambda d, _: codec.received_from_json(d["received"]),
    "send": codec.send_result_from_json,
    "due": lambda d, _: [codec.mt_request_from_json(r) for r in d["requests"]],
    "next_due": lambda d, _: _optional_number(d),
    "delivery_receipt": lambda d, _: None,
    "interaction": lambda d, _: codec.interaction_from_json(d["interaction"]),
    "set_state": lambda d, _: codec.interaction_from_json(d["interaction"]),
    "forget": lambda d, _: _forgotten(d),
    "interactions": lambda d, _: [codec.interaction_from_json(i) for i in d["interactions"]],
    "snapshot": lambda d, _: _snapshot(d),
    "restore": lambda d, _: None,
}


# -- the server's half -------------------------------------------------------------------------------------


@dataclass
class _Given:
    """What the call being run carried: the ids the core may take and the reference counter."""

    ids: list[str]
    references: ReferenceCounter


class CoreHost:
    """The cores a server holds, each an in-process ``SmsCore``, and the calls on them.

    Args:
        factory: the core class (``Core(config, context)``).
        limit: how many cores are held at once; making one more lets the least recently used go.
    """

    def __init__(self, factory: CoreFactory, limit: int = CORES_LIMIT) -> None:
        self.factory = factory
        self.limit = limit
        self._cores: OrderedDict[str, tuple[SmsCore, _Given]] = OrderedDict()
        self._numbers = itertools.count(1)

    def __len__(self) -> int:
        return len(self._cores)

    def create(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /cores``: 201 and the new core's id, or 400 naming every problem of its config."""
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(config, dict):
            return 400, {"error": "the body must be an object with 'config', the CIC sections of a lab file"}
        try:
            cic = load_cic_config(config, "config")
        except ConfigError as exc:
            return 400, {"error": str(exc)}
        given = _Given([], ReferenceCounter(0))
        # each call replaces given.references, so the lambda must read it at call time
        context = CoreContext(lambda: _take_id(given), lambda: given.references())  # noqa: PLW0108
        try:
            core = self.factory(cic, context)
        except Exception as exc:  # a core under test may fail in any way; the caller is told how
            return 500, {"error": f"the core could not be made: {type(exc).__name__}: {exc}"}
        core_id = f"core-{next(self._numbers)}"
        self._cores[core_id] = (core, given)
        while len(self._cores) > self.limit:
            self._cores.popitem(last=False)
        return 201, {"core": core_id}

    def delete(self, core_id: str) -> tuple[int, dict[str, Any]]:
        """``DELETE /cores/<id>``."""
        if self._cores.pop(core_id, None) is None:
            return 404, {"error": f"no core {core_id!r}"}
        return 200, {"deleted": core_id}

    def call(self, core_id: str, call: str, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /cores/<id>/<call>``: the status and the answer."""
        held = self._cores.get(core_id)
        if held is None:
            return 404, {"error": f"no core {core_id!r}"}
        if call not in CALLS:
            return 400, {"error": f"no call {call!r}; the calls are {', '.join(CALLS)}"}
        self._cores.move_to_end(core_id)
        core, given = held
        try:
            args = codec.decode(f"the body of {call}", lambda b: _arguments(call, b, given), body)
        except InputError as exc:
            return 400, {"error": str(exc)}
        carried = len(given.ids)
        try:
            answer = _RUN[call](core, args)
        except Exception as exc:  # a core under test may fail in any way; the caller is told how
            return 500, {"error": f"the core raised {type(exc).__name__}: {exc}"}
        answer["used_ids"] = carried - len(given.ids)
        answer["next_reference"] = given.references.state[0]
        return 200, answer


def _take_id(given: _Given) -> str:
    if not given.ids:
        raise UsageError(f"the core asked for more ids than the call carried (at most {IDS_PER_CALL} a call)")
    return given.ids.pop(0)


def _arguments(call: str, body: Any, given: _Given) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    ids = body.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise TypeError(f"'ids' must be a list of non-empty strings (got {ids!r})")
    reference = body.get("reference", {"next": 0, "modulus": DEFAULT_MODULUS})
    following, modulus = reference["next"], reference.get("modulus", DEFAULT_MODULUS)
    if modulus not in (256, 65536) or isinstance(following, bool) or not isinstance(following, int):
        raise ValueError("'reference' must be {'next': <integer>, 'modulus': 256 or 65536} "
                         f"(got {reference!r})")
    args: dict[str, Any] = {}
    for name in CALLS[call]:
        if name not in body:
            raise KeyError(name)
        args[name] = _decode_argument(name, body[name])
    given.ids = list(ids)
    size = ReferenceSize.EIGHT_BIT if modulus == 256 else ReferenceSize.SIXTEEN_BIT
    given.references = ReferenceCounter(following, size)
    return args


def _decode_argument(name: str, value: Any) -> Any:
    if name == "sms":
        return codec.inbound_sms_from_json(value)
    if name == "message":
        return codec.outbound_sms_from_json(value)
    if name == "receipt":
        return codec.receipt_from_json(value)
    if name == "state":
        return codec.state_from_json(value)
    if name == "now":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"'now' must be a number of seconds (got {value!r})")
        return float(value)
    if name == "interaction_id":
        if not isinstance(value, str):
            raise TypeError(f"'interaction_id' must be a string (got {value!r})")
        return value
    if not isinstance(value, dict) or value.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"'snapshot' must be an object with version {SNAPSHOT_VERSION}")
    return value


def _nothing(call: Callable[..., None], *args: Any) -> dict[str, Any]:
    call(*args)
    return {}


def _interaction_json(interaction: Any) -> dict[str, Any] | None:
    return None if interaction is None else interaction.to_dict()


_RUN: dict[str, Callable[[SmsCore, dict[str, Any]], dict[str, Any]]] = {
    "receive": lambda core, a: {"received": codec.received_to_json(core.receive(a["sms"], a["now"]))},
    "send": lambda core, a: codec.send_result_to_json(core.send(a["message"], a["now"])),
    "due": lambda core, a: {"requests": [codec.mt_request_to_json(r) for r in core.due(a["now"])]},
    "next_due": lambda core, a: {"next_due": core.next_due()},
    "delivery_receipt": lambda core, a: _nothing(core.delivery_receipt, a["receipt"], a["now"]),
    "interaction": lambda core, a: {"interaction": _interaction_json(core.interaction(a["interaction_id"]))},
    "set_state": lambda core, a: {"interaction": _interaction_json(
        core.set_state(a["interaction_id"], a["state"]))},
    "forget": lambda core, a: {"forgotten": bool(core.forget(a["interaction_id"]))},
    "interactions": lambda core, a: {"interactions": [i.to_dict() for i in core.interactions()]},
    "snapshot": lambda core, a: {"snapshot": core.snapshot()},
    "restore": lambda core, a: _nothing(core.restore, a["snapshot"]),
}
