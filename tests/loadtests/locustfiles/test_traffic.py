"""Tests for loadtests.locustfiles.traffic: numbers in the default lab's plan, texts of each coding, and MO
pushes byte for byte as each broker's definition (or Portico's webhook) renders them."""

from __future__ import annotations

import base64
import json

import pytest

from loadtests.locustfiles.plan import BrokerPlan
from loadtests.locustfiles.traffic import KINDS, Traffic, mo_push
from scenarios.lab.spec import default_lab_config
from sim.core.segmentation import Encoding, choose_encoding, units


def test_handsets_fit_the_default_labs_ani_route_and_kaleyra_route() -> None:
    """Every handset matches the default lab's Indianapolis ANI route and its first (Kaleyra) outbound route;
    every UK number only its International (Portico) route."""
    sms = default_lab_config().cic.sms
    ani = next(r for r in sms.inbound_routes if r.destination.name == "Indianapolis Support")
    traffic = Traffic(7)
    for _ in range(200):
        handset, international = traffic.handset(), traffic.international()
        assert ani.matches(handset, "8005550100", "hello"), handset
        assert "kaleyra" == next(r.broker for r in sms.outbound_routes if r.pattern.fullmatch(handset))
        assert "portico" == next(r.broker for r in sms.outbound_routes if r.pattern.fullmatch(international))


@pytest.mark.parametrize(("kind", "encoding", "low", "high"), [
    ("gsm7", Encoding.GSM7, 1, 160), ("ucs2", Encoding.UCS2, 1, 70), ("long", Encoding.GSM7, 161, 10_000)])
def test_each_kind_of_text_has_its_coding_and_size(kind: str, encoding: Encoding, low: int, high: int) -> None:
    """GSM-7 fits one part, UCS-2 (with an emoji) fits one part, long needs several: counted in units."""
    traffic = Traffic(11)
    for _ in range(50):
        text = traffic.text(kind)
        assert encoding is choose_encoding(text)
        assert low <= units(text, encoding) <= high


def test_the_same_seed_gives_the_same_traffic() -> None:
    """A user's traffic can be replayed from its seed."""
    one, two = Traffic(3), Traffic(3)
    assert [one.handset(), *(one.text(k) for k in KINDS)] == [two.handset(), *(two.text(k) for k in KINDS)]


def test_an_unknown_kind_of_text_is_refused_naming_the_kinds() -> None:
    """A kind that is not one of KINDS is a ValueError listing them."""
    with pytest.raises(ValueError, match=r"kind must be one of gsm7, ucs2, long \(got 'sms'\)"):
        Traffic(1).text("sms")


def test_a_kaleyra_mo_push_is_the_definitions_form_post() -> None:
    """The Kaleyra push is the kaleyra-directtext definition's form, to the broker's push target."""
    broker = BrokerPlan("kaleyra", "kaleyra-directtext", "http://proxy/kaleyra/mo", "8005550100")
    push = mo_push(broker, "+13175550101", "hi there", "t1-1")
    assert ("POST", "http://proxy/kaleyra/mo") == (push.method, push.url)
    assert {"Content-Type": "application/x-www-form-urlencoded"} == push.headers
    assert (b"device_address=%2B13175550101&inbound_address=8005550100&router=MMX&carrier=tmobile&channel=sms"
            b"&message_orig=hi+there&message=hi+there&message_id=t1-1&message_subid=0&status=MO+Success"
            b"&status_code=100&a2w_mo_ref_id=t1-1&country_code=1") == push.body


def test_an_eztexting_mo_push_is_the_definitions_form_post() -> None:
    """The EzTexting push carries its PhoneNumber, ShortCode, Message and MessageId fields."""
    broker = BrokerPlan("eztexting", "eztexting", "http://proxy/receivesms.php", "313131")
    push = mo_push(broker, "+13175550101", "hi", "t1-2")
    assert b"PhoneNumber=%2B13175550101&ShortCode=313131&Message=hi&MessageId=t1-2" == push.body


def test_a_portico_mo_push_is_its_json_webhook_with_the_numbers_basic_credentials() -> None:
    """The Portico push is its JSON webhook, with Basic credentials when the number has them."""
    broker = BrokerPlan("portico", "portico", "http://proxy/portico/mo", "+18885550199", login="ccid",
                        password="key")
    push = mo_push(broker, "+13175550101", "hi 🙂", "t1-3")
    body = json.loads(push.body)
    assert "Basic " + base64.b64encode(b"ccid:key").decode() == push.headers["Authorization"]
    assert {"messageId": "t1-3", "sender": "+13175550101", "destination": "+18885550199",
            "message": "hi 🙂"} == {k: body[k] for k in ("messageId", "sender", "destination", "message")}
    assert "Authorization" not in mo_push(BrokerPlan("portico", "portico", "u", "+1"), "+1", "x", "i").headers
