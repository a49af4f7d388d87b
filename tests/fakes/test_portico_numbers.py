"""Tests of fakes.portico.numbers: orders on the clock, listing without passwords, PATCH and DELETE."""



from __future__ import annotations

import itertools

import pytest

from fakes.portico.errors import ApiError
from fakes.portico.numbers import NumberBook, user
from fakes.portico.settings import NumberKind, parse_settings

TF, LC = NumberKind.TOLLFREE, NumberKind.LONGCODE
NEXUS = user("nexus")


def book(**extra: object) -> NumberBook:
    settings = parse_settings({"clients": [{"id": "nexus", "secret": "s"}], "numbers": [
        {"number": "18445551212", "mo_url": "https://n.test/mo", "dr_url": "https://n.test/dr",
         "webhook_username": "ccid", "webhook_password": "gma-key", "comment": "ACME"}],
        "orders": {"completion_delay": 5}, **extra}, "fakes.portico")
    counter = itertools.count(1)
    return NumberBook(settings, lambda: f"id-{next(counter)}")


def refused(call: object) -> tuple[int, str, str]:
    assert callable(call)
    with pytest.raises(ApiError) as caught:
        call()
    e = caught.value
    return e.status, e.code, e.message


def test_a_configured_number_is_listed_without_its_password() -> None:
    """The list holds TollfreeNumber entities; webhookPassword is never returned."""
    assert {"entities": [{
        "id": "id-1", "name": "18445551212", "owner": NEXUS, "createdBy": NEXUS, "status": "Active",
        "dateCreated": "1970-01-01T00:00:00.000Z", "dateModified": "1970-01-01T00:00:00.000Z",
        "comment": "ACME", "moUrl": "https://n.test/mo", "drUrl": "https://n.test/dr",
        "webhookUsername": "ccid", "tollfreeNumber": "18445551212",
        "selfUri": "/api/v2/messaging/sms/provisioning/tollfreenumbers/18445551212"}]} == \
        book().listing(TF, 0.0)
    assert {"entities": []} == book().listing(LC, 0.0)


def test_the_owner_is_a_user_reference_with_a_stable_id() -> None:
    """owner and createdBy are User references whose id is the same on every run."""
    assert {"id": "71b1def7-f1f5-5a9f-a467-6595b390fd7f", "name": "nexus",
            "selfUri": "/api/v2/users/71b1def7-f1f5-5a9f-a467-6595b390fd7f"} == NEXUS


def test_an_order_is_pending_until_the_delay_has_passed() -> None:
    """An order and its numbers turn complete and active completion_delay seconds later."""
    b = book()
    order = b.order(TF, [{"tollfreeNumber": "+18005550100", "drUrl": "https://n.test/dr"}], "nexus", 100.0)
    placed = b.order_json(order, 100.0, placed=True)
    assert {"id": "id-2", "name": "id-2", "orderType": "Order", "numberType": "TollFree", "owner": NEXUS,
            "createdBy": NEXUS, "orderStatus": "Pending", "numbers": ["18005550100"],
            "tollfreeNumbers": ["18005550100"],
            "selfUri": "/api/v2/messaging/sms/provisioning/orders/id-2"} == placed
    assert b.active("18005550100", 104.999) is None
    assert "Pending" == b.number_json(b.find(TF, "18005550100"), 104.999)["status"]
    later = b.order_json(b.get_order("id-2"), 105.0, placed=False)
    assert ("Complete", False) == (later["orderStatus"], "tollfreeNumbers" in later)
    assert "18005550100" == b.active("18005550100", 105.0).code  # type: ignore[union-attr]


def test_enum_values_come_from_the_settings() -> None:
    """The GAP enums (orderType, numberType, orderStatus, status) are the configured names."""
    b = book(enums={"order_pending": "IN_PROGRESS", "number_type_longcode": "LONG_CODE"})
    order = b.order(LC, [{"longcode": "13125550100"}], "nexus", 0.0)
    body = b.order_json(order, 0.0, placed=True)
    assert ("IN_PROGRESS", "LONG_CODE", ["13125550100"]) == (body["orderStatus"], body["numberType"],
                                                             body["longcodes"])


def test_a_bad_order_records_nothing() -> None:
    """Any bad element refuses the whole order, naming the element's field; no number is recorded."""
    b = book()
    good = {"tollfreeNumber": "18005550100"}
    assert (400, "invalid.value", "The body must be a non-empty array of number requests.") == refused(
        lambda: b.order(TF, [], "nexus", 0.0))
    assert (400, "invalid.value", "The body must be a non-empty array of number requests.") == refused(
        lambda: b.order(TF, good, "nexus", 0.0))
    assert (400, "invalid.value", "[1] must be an object") == refused(
        lambda: b.order(TF, [good, "18005550101"], "nexus", 0.0))
    assert (400, "invalid.value", "[1].tollfreeNumber must be a toll-free number such as 18445551212 "
                                  "(got '13125550100')") == refused(
        lambda: b.order(TF, [good, {"tollfreeNumber": "13125550100"}], "nexus", 0.0))
    assert (400, "invalid.value", "Number 18445551212 is not available.") == refused(
        lambda: b.order(TF, [{"tollfreeNumber": "18445551212"}], "nexus", 0.0))
    assert (400, "invalid.value", "Number 18005550100 is not available.") == refused(
        lambda: b.order(TF, [good, good], "nexus", 0.0))
    bad_url = {"tollfreeNumber": "18005550101", "moUrl": "n.test"}
    assert (400, "invalid.value", "[1].moUrl must be an absolute http or https URL (got 'n.test')") == \
        refused(lambda: b.order(TF, [good, bad_url], "nexus", 0.0))
    assert not b.taken("18005550100")
    assert 1 == len(b.listing(TF, 0.0)["entities"])  # type: ignore[arg-type]


def test_a_port_in_needs_its_letter_of_authorisation() -> None:
    """A port-in order requires loaFileUrl and is typed as a port-in."""
    b = book()
    assert (400, "invalid.value", "[0].loaFileUrl is required") == refused(
        lambda: b.order(TF, [{"tollfreeNumber": "18005550100"}], "nexus", 0.0, portin=True))
    order = b.order(TF, [{"tollfreeNumber": "18005550100", "loaFileUrl": "https://n.test/loa.pdf"}], "nexus",
                    0.0, portin=True)
    assert "PortIn" == b.order_json(order, 0.0, placed=True)["orderType"]


def test_patch_changes_only_the_given_details() -> None:
    """PATCH replaces the members it names and keeps the others; the password stays hidden."""
    b = book()
    record = b.patch(TF, "18445551212", {"drUrl": "https://other.test/dr", "webhookPassword": "new"}, 50.0)
    body = b.number_json(record, 50.0)
    assert ("https://other.test/dr", "https://n.test/mo", "1970-01-01T00:00:50.000Z") == (
        body["drUrl"], body["moUrl"], body["dateModified"])
    assert "webhookPassword" not in body
    assert "new" == record.details["webhookPassword"]


def test_patch_cannot_deprovision_or_move_a_number() -> None:
    """PATCH refuses a status change, another number, a bad URL, and an unknown number."""
    b = book()
    assert (400, "invalid.value", "A number cannot be deprovisioned with PATCH; use DELETE.") == refused(
        lambda: b.patch(TF, "18445551212", {"status": "Deprovisioned"}, 0.0))
    assert (400, "invalid.value", "The number in the body must match the path.") == refused(
        lambda: b.patch(TF, "18445551212", {"tollfreeNumber": "18005550100"}, 0.0))
    assert (400, "invalid.value", "drUrl must be an absolute http or https URL (got 'x')") == refused(
        lambda: b.patch(TF, "18445551212", {"drUrl": "x"}, 0.0))
    assert (404, "not.found", "Number 18005550100 is not provisioned in this organization.") == refused(
        lambda: b.patch(TF, "18005550100", {}, 0.0))
    assert (404, "not.found", "Number 18445551212 is not provisioned in this organization.") == refused(
        lambda: b.patch(LC, "18445551212", {}, 0.0))
    assert "https://n.test/dr" == b.find(TF, "18445551212").details["drUrl"]


def test_delete_deprovisions() -> None:
    """A deleted number is gone, can be ordered again, and a second delete is 404."""
    b = book()
    b.delete(TF, "+18445551212")
    assert not b.taken("18445551212")
    assert (404, "not.found", "Number 18445551212 is not provisioned in this organization.") == refused(
        lambda: b.delete(TF, "18445551212"))
    assert (404, "not.found", "Order nope was not found.") == refused(lambda: b.get_order("nope"))
