"""The JSON form of the core's values: what crosses a process boundary between a CIC node and its core.

One codec, used by both ends of a core served over HTTP (``sim.core.remote``: the node's client and
``smslab serve core``), so a value means the same on the way out as on the way back. Interactions keep the
form their snapshots and the node's store already use (``Interaction.to_dict`` / ``from_dict``). Every
``*_from_json`` raises ``InputError`` naming what was wrong, never ``KeyError`` or ``TypeError``.

An outbound decision is sent as its route's index in ``sms.outbound_routes`` and the number it formatted;
the reader finds the route in its own copy of the configuration, so both ends must be configured alike
(the node hands its configuration to the core when it creates it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sim.core.config import CicConfig
from sim.core.errors import InputError
from sim.core.interactions import Interaction, InteractionState
from sim.core.protocol import Received, Refused, Sent
from sim.core.routing import Destination, DestinationKind, InboundDecision, OutboundDecision
from sim.core.segmentation import Encoding, ParsingMode, Segment, Segmentation
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest, OutboundSms

__all__ = [
    "decode",
    "inbound_sms_from_json",
    "inbound_sms_to_json",
    "interaction_from_json",
    "mt_request_from_json",
    "mt_request_to_json",
    "outbound_sms_from_json",
    "outbound_sms_to_json",
    "receipt_from_json",
    "receipt_to_json",
    "received_from_json",
    "received_to_json",
    "segmentation_to_json",
    "send_result_from_json",
    "send_result_to_json",
    "state_from_json",
]

T = TypeVar("T")


def decode(what: str, read: Callable[[Any], T], data: Any) -> T:
    """``read(data)``, with any shape error turned into an ``InputError`` naming ``what``."""
    try:
        return read(data)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InputError(f"{what} is malformed: {type(exc).__name__}: {exc}") from exc


def _text(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data[key] if default is None else data.get(key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string (got {value!r})")
    return value


def _number(data: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = data[key] if default is None else data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key!r} must be a number (got {value!r})")
    return float(value)


def _integer(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data[key] if default is None else data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key!r} must be an integer (got {value!r})")
    return value


def _flag(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise TypeError(f"{key!r} must be true or false (got {value!r})")
    return value


# -- what the node hands the core --------------------------------------------------------------------------


def inbound_sms_to_json(sms: InboundSms) -> dict[str, Any]:
    """An MO as JSON."""
    return {"broker": sms.broker, "ani": sms.ani, "dnis": sms.dnis, "body": sms.body,
            "message_id": sms.message_id, "account": sms.account, "received_at": sms.received_at}


def inbound_sms_from_json(data: Mapping[str, Any]) -> InboundSms:
    """An MO from JSON."""
    return InboundSms(_text(data, "broker"), _text(data, "ani"), _text(data, "dnis"), _text(data, "body"),
                      _text(data, "message_id", ""), _text(data, "account", ""),
                      _number(data, "received_at", 0.0))


def outbound_sms_to_json(message: OutboundSms) -> dict[str, Any]:
    """A send request as JSON."""
    return {"dnis": message.dnis, "text": message.text, "classification": message.classification,
            "sender": message.sender, "interaction_id": message.interaction_id}


def outbound_sms_from_json(data: Mapping[str, Any]) -> OutboundSms:
    """A send request from JSON."""
    return OutboundSms(_text(data, "dnis"), _text(data, "text"), _text(data, "classification", ""),
                       _text(data, "sender", ""), _text(data, "interaction_id", ""))


def receipt_to_json(receipt: DeliveryReceipt) -> dict[str, Any]:
    """A delivery receipt as JSON (``state`` in the lab's words: accepted, sent, delivered, ...)."""
    return {"broker": receipt.broker, "message_id": receipt.message_id, "state": receipt.state.value,
            "raw_status": receipt.raw_status, "recipient": receipt.recipient, "at": receipt.at}


_DELIVERY = {s.value: s for s in DeliveryState}
_STATES = {s.value: s for s in InteractionState}


def receipt_from_json(data: Mapping[str, Any]) -> DeliveryReceipt:
    """A delivery receipt from JSON."""
    state = _text(data, "state")
    if state not in _DELIVERY:
        raise ValueError(f"'state' must be one of {', '.join(_DELIVERY)} (got {state!r})")
    return DeliveryReceipt(_text(data, "broker"), _text(data, "message_id"), _DELIVERY[state],
                           _text(data, "raw_status", ""), _text(data, "recipient", ""),
                           _number(data, "at", 0.0))


def state_from_json(value: Any) -> InteractionState:
    """An interaction state (``active``, ``idle`` or ``disconnected``)."""
    if value not in _STATES:
        raise ValueError(f"the state must be one of {', '.join(_STATES)} (got {value!r})")
    return _STATES[value]


# -- what the core answers ---------------------------------------------------------------------------------


def interaction_from_json(data: Any) -> Interaction | None:
    """An interaction (its snapshot form), or ``None`` for JSON ``null``."""
    return None if data is None else Interaction.from_dict(data)


def mt_request_to_json(mt: MtRequest) -> dict[str, Any]:
    """An MT request as JSON (``options`` as a mapping)."""
    return {"broker": mt.broker, "account": mt.account, "sender": mt.sender, "recipient": mt.recipient,
            "text": mt.text, "encoding": mt.encoding, "part": mt.part, "parts": mt.parts,
            "reference": mt.reference, "interaction_id": mt.interaction_id, "correlation": mt.correlation,
            "options": dict(mt.options)}


def mt_request_from_json(data: Mapping[str, Any]) -> MtRequest:
    """An MT request from JSON."""
    reference = data.get("reference")
    if reference is not None and (isinstance(reference, bool) or not isinstance(reference, int)):
        raise TypeError(f"'reference' must be an integer or null (got {reference!r})")
    options = data.get("options") or {}
    if not isinstance(options, Mapping) or not all(isinstance(v, str) for v in options.values()):
        raise TypeError(f"'options' must map names to strings (got {options!r})")
    return MtRequest(_text(data, "broker"), _text(data, "account"), _text(data, "sender", ""),
                     _text(data, "recipient"), _text(data, "text"), _text(data, "encoding", "GSM-7"),
                     _integer(data, "part", 1), _integer(data, "parts", 1), reference,
                     _text(data, "interaction_id", ""), _text(data, "correlation", ""),
                     tuple(sorted((str(k), v) for k, v in options.items())))


def _destination_to_json(destination: Destination) -> dict[str, str]:
    return {"kind": destination.kind.value, "name": destination.name}


_KINDS = {k.value: k for k in DestinationKind}


def received_to_json(received: Received) -> dict[str, Any]:
    """The outcome of an MO as JSON."""
    decision = received.decision
    return {"interaction": received.interaction.to_dict(), "new": received.new,
            "duplicate": received.duplicate,
            "decision": {"destination": _destination_to_json(decision.destination),
                         "route_index": decision.route_index, "via": decision.via}}


def received_from_json(data: Mapping[str, Any]) -> Received:
    """The outcome of an MO from JSON."""
    decision = data["decision"]
    destination = decision["destination"]
    index = decision.get("route_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise TypeError(f"'route_index' must be an integer or null (got {index!r})")
    kind = _text(destination, "kind")
    if kind not in _KINDS:
        raise ValueError(f"destination kind must be one of {', '.join(_KINDS)} (got {kind!r})")
    chosen = InboundDecision(Destination(_KINDS[kind], _text(destination, "name", "")), index,
                             _text(decision, "via"))
    return Received(Interaction.from_dict(data["interaction"]), chosen, _flag(data, "new"),
                    _flag(data, "duplicate"))


def segmentation_to_json(seg: Segmentation) -> dict[str, Any]:
    """How a text segments, as JSON (``smslab segment --json`` prints this with the text and its parts'
    texts beside)."""
    return {"mode": seg.mode.value, "encoding": seg.encoding.value, "units": seg.units,
            "parts": [{"text": s.text, "units": s.units, "capacity": s.capacity} for s in seg.segments],
            "reference": seg.reference, "truncated": seg.truncated, "oversize": seg.oversize}


def _segmentation_from_json(data: Mapping[str, Any]) -> Segmentation:
    parts = tuple(Segment(_text(p, "text"), _integer(p, "units"), _integer(p, "capacity"))
                  for p in data["parts"])
    reference = data.get("reference")
    if reference is not None and (isinstance(reference, bool) or not isinstance(reference, int)):
        raise TypeError(f"'reference' must be an integer or null (got {reference!r})")
    return Segmentation(Encoding(data["encoding"]), ParsingMode(data["mode"]), parts, _integer(data, "units"),
                        reference, _flag(data, "truncated"), _flag(data, "oversize"))


def send_result_to_json(result: Sent | Refused) -> dict[str, Any]:
    """An accepted send (``{"sent": ...}``) or a refusal (``{"refused": ...}``) as JSON."""
    if isinstance(result, Refused):
        return {"refused": {"reason": result.reason, "kind": result.kind, "status": result.status}}
    return {"sent": {
        "decision": {"route_index": result.decision.route_index, "number": result.decision.number},
        "recipient": result.recipient, "requests": [mt_request_to_json(r) for r in result.requests],
        "held": result.held, "segmentation": segmentation_to_json(result.segmentation),
        "correlation": result.correlation, "interaction_id": result.interaction_id}}


def send_result_from_json(data: Mapping[str, Any], config: CicConfig) -> Sent | Refused:
    """An accepted send or a refusal from JSON; the decision's route is looked up in ``config``."""
    if "refused" in data:
        refused = data["refused"]
        status = _integer(refused, "status", 422)
        if not 400 <= status <= 599:
            raise ValueError(f"a refusal's 'status' must be an HTTP error status (got {status})")
        return Refused(_text(refused, "reason"), _text(refused, "kind"), status)
    sent = data["sent"]
    decision = sent["decision"]
    index = _integer(decision, "route_index")
    routes = config.sms.outbound_routes
    if not 0 <= index < len(routes):
        raise ValueError(f"'route_index' {index} is not one of the {len(routes)} outbound route(s)")
    return Sent(OutboundDecision(index, routes[index], _text(decision, "number")), _text(sent, "recipient"),
                tuple(mt_request_from_json(r) for r in sent["requests"]), _flag(sent, "held"),
                _segmentation_from_json(sent["segmentation"]), _text(sent, "correlation"),
                _text(sent, "interaction_id", ""))
