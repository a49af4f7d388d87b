"""Tests of sim.core.codec: the JSON form of the core's values round-trips, and bad values are InputErrors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core import codec
from sim.core.errors import InputError
from sim.core.types import DeliveryReceipt, DeliveryState, InboundSms, MtRequest, OutboundSms

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.builds(InboundSms, texts, texts, texts, texts, texts, texts, st.floats(0, 1e9)))
def test_an_inbound_sms_round_trips_through_json(sms: InboundSms) -> None:
    """Any MO comes back equal from its JSON form."""
    assert sms == codec.inbound_sms_from_json(json.loads(json.dumps(codec.inbound_sms_to_json(sms))))


@given(st.builds(MtRequest, texts, texts, texts, texts, texts, st.sampled_from(["GSM-7", "UCS-2"]),
                 st.integers(1, 255), st.integers(1, 255), st.none() | st.integers(0, 65535), texts, texts,
                 st.dictionaries(texts, texts, max_size=3).map(lambda d: tuple(sorted(d.items())))))
def test_an_mt_request_round_trips_through_json(mt: MtRequest) -> None:
    """Any MT request comes back equal from its JSON form."""
    assert mt == codec.mt_request_from_json(json.loads(json.dumps(codec.mt_request_to_json(mt))))


def test_a_receipt_and_a_send_round_trip_and_bad_values_are_input_errors() -> None:
    """A DR and an outbound SMS come back equal; an unknown state is an InputError naming the choices."""
    dr = DeliveryReceipt("kaleyra", "m1", DeliveryState.DELIVERED, "DELIVRD/000", "+1317", 5.0)
    assert dr == codec.receipt_from_json(codec.receipt_to_json(dr))
    out = OutboundSms("9317", "hi", "Local", "agent:alice", "i-1")
    assert out == codec.outbound_sms_from_json(codec.outbound_sms_to_json(out))
    with pytest.raises(InputError, match="receipt is malformed: ValueError: 'state' must be one of accepted"):
        codec.decode("receipt", codec.receipt_from_json, {**codec.receipt_to_json(dr), "state": "lost"})
