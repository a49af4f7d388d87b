"""Tests for fakes.kaleyra.model and fakes.kaleyra.settings: parsing, ids, DR/MO fields, settings."""

import random

import pytest
from multidict import MultiDict

from fakes.common import MoRequest, RetryPolicy, WireError
from fakes.kaleyra.model import (
    MessageIds,
    MtSubmission,
    dr_fields,
    dr_parts,
    mo_fields,
    parse_mt,
    wire_fields,
)
from fakes.kaleyra.settings import KALEYRA_RETRY, Code, read_settings
from sim.core.errors import ConfigError
from sim.core.types import DeliveryState

SETTINGS = read_settings({})


def test_recipients_split_from_repeats_and_commas():
    """Repeated and comma-joined recipients are one list, spaces trimmed, order kept."""
    mt = parse_mt(MultiDict([("reply_to", " 55555 "), ("recipient", "+1650555000 1".replace(" ", "")),
                             ("recipient", " +16505550002 , +16505550003,"), ("body", "x")]), SETTINGS)
    assert ("55555", ("+16505550001", "+16505550002", "+16505550003")) == (mt.reply_to, mt.recipients)


def test_too_many_recipients():
    """More recipients than max_recipients is INVALID naming recipient."""
    settings = read_settings({"max_recipients": 2})
    with pytest.raises(WireError) as info:
        parse_mt(MultiDict(reply_to="1", recipient="+16505550001,+16505550002,+16505550003", body="x"), settings)
    assert ("invalid", "recipient") == (info.value.reason.value, info.value.field)


def test_message_ids_are_seeded_or_counted():
    """uuid ids repeat for the same seed; counter ids carry the fake's prefix."""
    first = [MessageIds("uuid", random.Random(3)).next() for _ in range(2)]
    counter = MessageIds("counter", random.Random(3), prefix="k1-")
    assert (first[0] == first[1], 36, ["k1-1", "k1-2"]) == (True, len(first[0]), [counter.next(), counter.next()])


@pytest.mark.parametrize(("body", "per_segment", "parts"), [
    ("x" * 160, True, 1), ("x" * 161, True, 2), ("€" * 80, True, 1), ("€" * 81, True, 2), ("😜" * 36, True, 2), ("x" * 161, False, 1),
])
def test_dr_parts_follow_segmentation(body, per_segment, parts):
    """One DR per segment, counted in septets or UTF-16 units, when asked."""
    assert parts == dr_parts(body, per_segment)


def test_dr_fields_for_every_outcome_default():
    """Each outcome maps to its configured status and code; delivered is Carrier Success/200."""
    mt = MtSubmission("55555", ("+1",), "x", reporting_key1="rk")
    got = {s.value: (dr_fields(mt, "+1", "m", s, subid=0, settings=SETTINGS)["status"],
                     dr_fields(mt, "+1", "m", s, subid=0, settings=SETTINGS)["status_code"])
           for s in (DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.UNDELIVERABLE,
                     DeliveryState.EXPIRED)}
    assert {"delivered": ("Carrier Success", "200"), "failed": ("Carrier Failure", "400"),
            "undeliverable": ("Undeliverable", "410"), "expired": ("Expired", "408")} == got


def test_mo_fields_without_router_for_processing_variant():
    """The Acoustic (processing) variant carries no router field."""
    fields = mo_fields(MoRequest("+1", "5", "hi"), "m1", read_settings({"mo": {"status": "processing"}}))
    assert ("router" in fields, fields["status"], fields["status_code"]) == (False, "Processing", "10")


def test_settings_defaults():
    """Defaults: the reported Kaleyra retry (60 s for 48 h), one smslab account, text/xml, code 100."""
    assert (KALEYRA_RETRY, RetryPolicy(60.0, 172800.0)) == (SETTINGS.common.retry, KALEYRA_RETRY)
    assert ({"smslab": "smslab"}, "text/xml", Code("100", "Message(s) accepted")) == (
        SETTINGS.accounts, SETTINGS.content_type, SETTINGS.codes["success"])


def test_settings_problems_name_their_paths():
    """Every problem in Kaleyra's own and the shared settings is reported with its path."""
    with pytest.raises(ConfigError) as info:
        read_settings({"content_type": "text/html", "message_ids": "guid", "accounts": [], "dr": {"statuses": {
            "failed": {"colour": "red"}}}, "rest": {"statuses": {"lost": "x"}, "callback_format": "xml"},
            "retry": {"interval": -1}}, "fakes.k1")
    assert sorted(["fakes.k1.content_type", "fakes.k1.message_ids", "fakes.k1.accounts",
                   "fakes.k1.dr.statuses.failed.colour", "fakes.k1.rest.statuses.lost",
                   "fakes.k1.rest.callback_format", "fakes.k1.retry.interval"]) == sorted(
        p.path for p in info.value.problems)


def test_uuid_ids_are_what_uuid4_formats():
    """Seeded ids are the strings uuid.UUID(int=..., version=4) gives for the same draws."""
    import uuid
    ids, rng = MessageIds("uuid", random.Random(7)), random.Random(7)
    expected = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(500)]
    assert expected == [ids.next() for _ in range(500)]


@pytest.mark.parametrize("state", [DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.UNDELIVERABLE,
                                   DeliveryState.EXPIRED])
def test_dr_form_body_is_the_form_of_dr_fields(state):
    """The pre-encoded DR body is byte for byte Push.form of dr_fields, odd characters included."""
    from fakes.common import Push
    from fakes.kaleyra.model import DrForm
    settings = read_settings({"dr": {"carrier": "AT&T Mobility", "router": "MMX é", "smscid": "a+b",
                                     "statuses": {"failed": {"status": "Carrier Failure/x", "code": "4 0"}}}})
    for key1, number, sender, mid, subid in [("k", "+16505550001", "55555", "id-1", 0),
                                             ("a&b=c %", "16505550001", "+1 650", "é/ü", 3), ("", "+", "", "", 12)]:
        mt = MtSubmission(sender, (number,), "hi", key1)
        fields = dr_fields(mt, number, mid, state, subid=subid, settings=settings)
        assert Push.form("dlr", "http://h/dr", fields).body == DrForm(settings).body(mt, number, mid, state,
                                                                                      subid=subid)


def test_wire_fields_keeps_first_order_and_lists_repeated_names_even_of_equal_values():
    """A name given once maps to its value, one given more often to all its values in order."""
    params = MultiDict([("recipient", "1"), ("body", "hi"), ("recipient", "1"), ("recipient", "2"),
                        ("empty", "")])
    assert {"recipient": ["1", "1", "2"], "body": "hi", "empty": ""} == wire_fields(params)
    assert ["recipient", "body", "empty"] == list(wire_fields(params))
