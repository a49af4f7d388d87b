"""Tests for sim.nexus.campaigns: templates, per-recipient fields, and what a campaign sends."""

from __future__ import annotations

import pytest

from sim.nexus.errors import NexusError
from sim.nexus.services import Provider
from tests.nexus.tenant import nexus

SERVICES = {"PurecloudIDP": {"url": "https://l", "secret": {"clientId": "c", "clientSecret": "s"}},
            "PorticoSMS": {"url": "https://a"}}
SENDER = {"chat.Main": {"channelId": "18445551212", "endpoint": "chat.Main"}}


def test_campaign_renders_each_recipient() -> None:
    """Each recipient gets the template with its own fields, one pending message and one Outbound each."""
    model = nexus(services=SERVICES, senders=SENDER)
    campaign, sends = model.campaign({"section": "chat.Main", "template": "Hi {name}", "rate": 5,
                                      "recipients": [{"number": "+13125550101", "fields": {"name": "Ann"}},
                                                     {"number": "+13125550102", "fields": {"name": "Bob"}}]}, 1.0)
    assert [(o.to, o.text, o.provider) for o in sends] == [("+13125550101", "Hi Ann", Provider.PORTICO),
                                                           ("+13125550102", "Hi Bob", Provider.PORTICO)]
    assert campaign.to_json()["states"] == {"pending": 2}
    model.interactions.accepted(sends[0].message_id, "p1")
    model.interactions.receipt("p1", "DELIVERED")
    assert campaign.to_json()["states"] == {"delivered": 1, "pending": 1}


@pytest.mark.parametrize(("body", "fragment"), [
    ({"section": "chat.Main", "template": "Hi {name}", "recipients": [{"number": "+13125550101"}]},
     "body.recipients[0].fields: must give name"),
    ({"section": "chat.Main", "template": "Hi {0.x}", "recipients": [{"number": "+13125550101"}]},
     "must be a plain name"),
    ({"section": "chat.Main", "template": "Hi {", "recipients": [{"number": "+13125550101"}]}, "malformed"),
    ({"section": "chat.Main", "template": "Hi", "recipients": []}, "at least one recipient"),
    ({"section": "chat.Nope", "template": "Hi", "recipients": [{"number": "+13125550101"}]}, "no sender section"),
])
def test_bad_campaigns_refused_nothing_sent(body: dict[str, object], fragment: str) -> None:
    """A bad campaign is refused with the reason and nothing is recorded."""
    model = nexus(services=SERVICES, senders=SENDER)
    with pytest.raises(NexusError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        model.campaign(body, 1.0)
    assert model.campaigns == {}


def test_unprovisioned_provider_is_409() -> None:
    """A campaign on a section whose provider has no services is a 409 naming what is missing."""
    with pytest.raises(NexusError, match="PurecloudIDP, PorticoSMS not provisioned"):
        nexus(senders=SENDER).campaign({"section": "chat.Main", "template": "x",
                                        "recipients": [{"number": "+13125550101"}]}, 1.0)
