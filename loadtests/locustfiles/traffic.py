"""Faker traffic for the locustfiles: handsets in the lab's number plan, texts of each coding, MO pushes.

The numbers fit the default lab: +1 317 NXX XXXX handsets, which its ANI route sends to the Indianapolis
Support queue and its first outbound route sends back through Kaleyra (``Local``), and international
handsets (+44 7700 9xxxxx, Ofcom's range kept for drama) that its International route sends through
Portico. Texts come in three kinds, so the load exercises segmentation as real traffic would: GSM-7 (one
part), UCS-2 with an emoji (one part, UTF-16 code units counted), and GSM-7 long enough to need several
parts (more than 160 septets: 3GPP TS 23.040, 9.2.3.24.1). An MO push is rendered by the same broker
definition the fakes and the nodes use (``sim.brokerdef``), or as Portico's JSON webhook, so a push from
Locust is byte for byte what the fake itself would send. No Locust import: the harness tests use it too.
"""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass
from functools import cache

from faker import Faker

from loadtests.locustfiles.plan import BrokerPlan
from sim.brokerdef.broker import render_mo
from sim.brokerdef.definition import Definition
from sim.brokerdef.loader import load_definition, shipped, shipped_names
from sim.core.segmentation import Encoding, choose_encoding, units
from sim.core.types import InboundSms

__all__ = ["KINDS", "MoPush", "Traffic", "definition", "mo_push"]

KINDS = ("gsm7", "ucs2", "long")
SINGLE_PART = 160  # GSM-7 septets in one part (3GPP TS 23.040, 9.2.3.24.1); UCS-2 has 70 code units
UCS2_SINGLE = 70


@dataclass(frozen=True)
class MoPush:
    """One MO push as a broker would make it: method, URL, headers and body."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class Traffic:
    """Numbers and texts from one seeded Faker, so a user's traffic can be replayed from its seed.

    Args:
        seed: the seed of this user's generator.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)

    def handset(self) -> str:
        """A +1 317 NXX XXXX number (NANP: the exchange's first digit is 2-9)."""
        return f"+1317{self.rng.randint(2, 9)}{self.rng.randint(0, 999_999):06d}"

    def international(self) -> str:
        """A UK mobile number in the range kept for fiction (+44 7700 900000-900999)."""
        return f"+447700900{self.rng.randint(0, 999):03d}"

    def text(self, kind: str = "gsm7") -> str:
        """A text of ``kind``: ``gsm7`` (one part), ``ucs2`` (one part, with an emoji) or ``long``."""
        if kind == "gsm7":
            return self._fit(lambda: self.faker.sentence(nb_words=8), Encoding.GSM7, SINGLE_PART)
        if kind == "ucs2":
            return self._fit(lambda: f"{self.faker.sentence(nb_words=5)} {self.faker.emoji()}", Encoding.UCS2,
                             UCS2_SINGLE)
        if kind == "long":
            text = self.faker.paragraph(nb_sentences=6)
            while units(text, Encoding.GSM7) <= SINGLE_PART or choose_encoding(text) is not Encoding.GSM7:
                text = f"{text} {self.faker.sentence()}".encode("ascii", "ignore").decode()
            return text
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")

    def any_text(self) -> str:
        """A text of a kind drawn at random: mostly one GSM-7 part, as most customer texts are."""
        return self.text(self.rng.choices(KINDS, weights=(6, 2, 2))[0])

    def _fit(self, make: object, encoding: Encoding, limit: int) -> str:
        for _ in range(50):
            text = make()  # type: ignore[operator]
            if choose_encoding(text) is encoding and units(text, encoding) <= limit:
                return str(text)
        raise RuntimeError(f"no {encoding.value} text within {limit} units in 50 draws")


@cache
def definition(wire: str) -> Definition:
    """The broker definition ``wire`` names: a shipped one, or a definition file."""
    return shipped(wire) if wire in shipped_names() else load_definition(wire)


def mo_push(broker: BrokerPlan, sender: str, text: str, message_id: str) -> MoPush:
    """The MO push of ``text`` from ``sender`` to ``broker``'s Local Address, in the broker's own format."""
    if broker.wire == "portico":
        return _portico(broker, sender, text, message_id)
    request = render_mo(definition(broker.wire), InboundSms(broker.name, sender, broker.local_address, text,
                                                            message_id), broker.mo_url)
    return MoPush(request.method, request.url, dict(request.headers), request.body)


def _portico(broker: BrokerPlan, sender: str, text: str, message_id: str) -> MoPush:
    """Portico's MO webhook: JSON, with the number's webhook credentials as Basic when it has them."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    payload = {"messageId": message_id, "sender": sender, "destination": broker.local_address,
               "message": text, "timestamp": stamp}
    headers = {"Content-Type": "application/json"}
    if broker.login:
        token = base64.b64encode(f"{broker.login}:{broker.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return MoPush("POST", broker.mo_url, headers, json.dumps(payload).encode())
