"""Tests for fakes.kaleyra.xml and the older XML API routes."""

import base64

import pytest

from fakes.common import ManualClock, WireError
from fakes.kaleyra import XML_API_PATHS, KaleyraFake, read_settings
from fakes.kaleyra.xml import parse_router_api, render_response

AUTH = {"Authorization": "Basic " + base64.b64encode(b"smslab:smslab").decode(), "Content-Type": "text/xml"}
REQUEST = """<router-api client_id="c1" version="2.0" customer_id="cu1">
  <request request_id="r1"><send_message return_ids="true" priority="bulk">
    <carrier_message carrier="default">
      <message_content><body type="text">Grüße</body><reply_to>55555</reply_to></message_content>
      <client_data><reporting_key1>rk-7</reporting_key1></client_data>
    </carrier_message>
    <recipient_list><recipient>+16505550001</recipient><recipient>+16505550002</recipient></recipient_list>
  </send_message></request>
</router-api>"""


def test_render_error_has_no_recipients():
    """An error document carries code and description only."""
    assert (b"<?xml version='1.0' encoding='utf-8'?>\n<httpApiResponse><code>101</code>"
            b"<description>Missing &lt;x&gt;</description></httpApiResponse>") == render_response("101", "Missing <x>")


def test_parse_router_api_maps_to_http_parameters():
    """The router-api request becomes the HTTP API's parameters."""
    params = parse_router_api(REQUEST)
    assert [("body", "Grüße"), ("reply_to", "55555"), ("reporting_key1", "rk-7"), ("recipient", "+16505550001"),
            ("recipient", "+16505550002"), ("client_id", "c1"), ("version", "2.0"), ("customer_id", "cu1")] == list(
        params.items())


@pytest.mark.parametrize("text", ["<router-api>", "<other/>", "<!DOCTYPE x [<!ENTITY a 'b'>]><router-api/>"])
def test_malformed_xml_is_refused(text):
    """Unparsable XML, another root, or a DTD is a MALFORMED error."""
    with pytest.raises(WireError) as info:
        parse_router_api(text)
    assert "malformed" == info.value.reason.value


@pytest.mark.parametrize("path", XML_API_PATHS)
async def test_both_xml_api_paths_accept(aiohttp_client, path):
    """Both disputed paths accept the XML API and answer code 100 with the message ids."""
    fake = KaleyraFake("k1", read_settings({"message_ids": "counter"}), clock=ManualClock())
    client = await aiohttp_client(fake.app())
    resp = await client.post(path, headers=AUTH, data=REQUEST.encode())
    text = await resp.text()
    assert (200, True) == (resp.status, "<code>100</code>" in text and "<messageId>k1-2</messageId>" in text)
    assert [("55555", "+16505550001", "Grüße", "rk-7")] == [
        (r.sender, r.recipient, r.text, r.fields["reporting_key1"]) for r in fake.capture.query(kind="mt")[:1]]


async def test_xml_api_refuses_bad_xml_and_can_be_disabled(aiohttp_client):
    """Broken XML is a 400 code 103; with xml_api false the paths are 404 in the DirectTEXT format."""
    fake = KaleyraFake("k1", read_settings({}), clock=ManualClock())
    client = await aiohttp_client(fake.app())
    bad = await client.post(XML_API_PATHS[0], headers=AUTH, data=b"<router-api")
    assert (400, "<code>103</code>") == (bad.status, (await bad.text()).split("<description>")[0][-16:])
    off = KaleyraFake("k2", read_settings({"xml_api": False}), clock=ManualClock())
    client2 = await aiohttp_client(off.app())
    gone = await client2.post(XML_API_PATHS[1], headers=AUTH, data=REQUEST.encode())
    assert (404, True) == (gone.status, "<code>404</code>" in await gone.text())
    assert 0 == fake.capture.total + off.capture.total
