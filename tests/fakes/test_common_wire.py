"""Tests for fakes.common.wire: strict body reading and Basic credentials."""

import base64
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from fakes.common.wire import (
    WireError,
    WireReason,
    basic_credentials,
    check_basic,
    form_fields,
    json_body,
    params,
    query_fields,
    split_form,
    text_body,
)


def _app(handler):
    app = web.Application(client_max_size=1024)
    app.router.add_route("*", "/x", handler)
    return app


async def _call(aiohttp_client, reader, method="POST", **kw):
    async def handler(request: web.Request) -> web.Response:
        try:
            return web.json_response({"ok": await reader(request)})
        except WireError as exc:
            return web.json_response({"reason": exc.reason.value, "msg": str(exc)}, status=exc.status)

    client = await aiohttp_client(_app(handler))
    resp = await client.request(method, "/x", **kw)
    return resp.status, await resp.json()


async def test_params_merges_query_then_form_keeping_repeats(aiohttp_client):
    """Query fields come first, then form fields; repeated names keep every value."""
    async def read(request):
        return list((await params(request)).items())

    status, body = await _call(aiohttp_client, read, params=[("recipient", "+1"), ("recipient", "+2")],
                               data={"body": "héllo wörld", "recipient": "+3"})
    expected = [["recipient", "+1"], ["recipient", "+2"], ["body", "héllo wörld"], ["recipient", "+3"]]
    assert (200, expected) == (status, body["ok"])


async def test_invalid_utf8_in_form_is_refused(aiohttp_client):
    """Percent-encoded bytes in a form body that are not UTF-8 are an ENCODING error."""
    async def read(request):
        return dict(await params(request))

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = await _call(aiohttp_client, read, data=b"body=%C3%28", headers=form)
    assert (400, "encoding") == (status, body["reason"])


async def test_raw_query_is_decoded_strictly():
    """query_fields reads the raw query, so an invalid escape is refused rather than replaced."""
    request = make_mocked_request("GET", "/x?body=%FF&to=%2B1")
    with pytest.raises(WireError) as info:
        query_fields(request)
    assert WireReason.ENCODING == info.value.reason
    assert {"to": "+1"} == dict(query_fields(make_mocked_request("GET", "/x?to=%2B1")))


async def test_form_needs_form_content_type_and_ascii(aiohttp_client):
    """A form body with another content type is 415; raw non-ASCII bytes are an encoding error."""
    status, body = await _call(aiohttp_client, form_fields, data=b"a=b",
                               headers={"Content-Type": "text/plain"})
    assert (415, "media_type") == (status, body["reason"])
    status, body = await _call(aiohttp_client, form_fields, data="a=é".encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (400, "encoding") == (status, body["reason"])


async def test_oversized_body_is_413(aiohttp_client):
    """A body over client_max_size is a TOO_LARGE error with status 413."""
    status, body = await _call(aiohttp_client, form_fields, data={"a": "x" * 4096})
    assert (413, "too_large") == (status, body["reason"])


async def test_json_body(aiohttp_client):
    """JSON needs its content type and must parse; +json types are accepted."""
    ok = await _call(aiohttp_client, json_body, data=b'{"a": "\xc3\xa9"}',
                     headers={"Content-Type": "application/vnd.x+json"})
    bad = await _call(aiohttp_client, json_body, data=b"{", headers={"Content-Type": "application/json"})
    wrong = await _call(aiohttp_client, json_body, data=b"{}", headers={"Content-Type": "text/plain"})
    assert (200, {"a": "é"}) == (ok[0], ok[1]["ok"])
    assert [(400, "malformed"), (415, "media_type")] == [(bad[0], bad[1]["reason"]),
                                                         (wrong[0], wrong[1]["reason"])]


async def test_text_body_strict_utf8(aiohttp_client):
    """text_body refuses invalid UTF-8 and unexpected media types."""
    async def read(request):
        return await text_body(request, "text/xml")

    bad = await _call(aiohttp_client, read, data=b"<a>\xff</a>", headers={"Content-Type": "text/xml"})
    assert (400, "encoding") == (bad[0], bad[1]["reason"])


def _auth(value: str):
    return make_mocked_request("GET", "/", headers={"Authorization": value})


def test_basic_credentials():
    """Basic credentials are decoded; other schemes and garbage give None."""
    token = base64.b64encode("usér:p:w".encode()).decode()
    assert ("usér", "p:w") == basic_credentials(_auth(f"Basic {token}"))
    assert [None, None, None] == [basic_credentials(_auth(v)) for v in ("Bearer x", "Basic !!!", "Basic " +
                                                                        base64.b64encode(b"nocolon").decode())]
    assert (True, False) == (check_basic(_auth(f"Basic {token}"), "usér", "p:w"),
                             check_basic(_auth(f"Basic {token}"), "usér", "p"))


_FORM_PIECES = ["a", "b", "=", "&", "+", "%2B", "%C3%A9", "%ZZ", "%E9", "%C3", " ", ";", "%", "é"]


@given(st.lists(st.sampled_from(_FORM_PIECES), max_size=14).map("".join))
def test_split_form_gives_the_pairs_parse_qsl_gives(raw):
    """split_form reads any form text exactly as parse_qsl(keep_blank_values, utf-8, strict) does."""
    def outcome(parse):
        try:
            return parse(raw)
        except UnicodeDecodeError:
            return "not utf-8"
    assert outcome(lambda r: parse_qsl(r, keep_blank_values=True, encoding="utf-8", errors="strict")) == \
        outcome(split_form)
