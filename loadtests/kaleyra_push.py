"""The Kaleyra (mGage DirectTEXT) pushes the load scripts send as a broker would: an MO and a receipt.

Fields as the Kaleyra definition renders them (``sim/brokerdef/definitions/kaleyra-directtext.yaml``, after
Acoustic's help pages and an MMX router's fixtures: Kaleyra's API guide is not public), form-encoded, for the
default lab's account.
"""

from __future__ import annotations

from urllib.parse import urlencode

__all__ = ["FORM", "LOCAL", "delivery_receipt", "handset", "mo"]

LOCAL = "8005550100"  # the default lab's (and the benches') Kaleyra account: its Local Address
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def handset(serial: int) -> str:
    """A +1 317 number for ``serial`` (ten million before they repeat)."""
    return f"+1317{serial % 10_000_000:07d}"


def mo(sender: str, message_id: str, text: str = "hello", local: str = LOCAL) -> bytes:
    """One MO push from ``sender`` (the leading + dropped, as Kaleyra sends it)."""
    return urlencode({
        "device_address": sender.lstrip("+"), "inbound_address": local, "router": "MMX", "carrier": "tmobile",
        "channel": "sms", "message_orig": text, "message": text, "message_id": message_id,
        "message_subid": "0", "status": "MO Success", "status_code": "100", "a2w_mo_ref_id": message_id,
        "country_code": "1"}).encode()


def delivery_receipt(message_id: str, correlation: str, recipient: str) -> bytes:
    """One delivery receipt: the message delivered (Carrier Success, 200)."""
    return urlencode({
        "carrier": "tmobile", "channel": "sms", "client_message_id": correlation, "device_address": recipient,
        "message_id": message_id, "message_subid": "0", "router": "MMX", "smscid": "0",
        "status": "Carrier Success", "status_code": "200"}).encode()
