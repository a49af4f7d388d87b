"""Tests of fakes.httpdef.model: the fake's settings and its credit, opt-out, rate and id rules."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from fakes.httpdef.model import HttpDefModel, HttpDefSettings, read_settings
from sim.brokerdef.broker import MtRefused, ReceivedMt
from sim.brokerdef.definition import Failure
from sim.brokerdef.loader import shipped
from sim.brokerdef.wire import Account
from sim.core.schema import Reader

EZ = shipped("eztexting")


def read(data: dict[str, Any], name: str = "eztexting") -> tuple[HttpDefSettings | None, list[tuple[str, str]]]:
    """The settings read from ``data`` and the (path, reason) problems recorded."""
    r = Reader(data, "fakes.f")
    settings = read_settings(r, name)
    r.done()
    return settings, [(p.path, p.reason) for p in r.problems]


def mt(*recipients: str) -> ReceivedMt:
    return ReceivedMt(recipients, "hi")


def refused(action: Any) -> Failure:
    with pytest.raises(MtRefused) as caught:
        action()
    return caught.value.kind


def test_defaults_come_from_the_fake_name_and_its_definition() -> None:
    """With no keys, the fake's name picks the definition and its path; nothing is limited."""
    settings, found = read({})
    assert [] == found
    assert HttpDefSettings(EZ, ("/api/sending",)) == settings


def test_every_key_is_read() -> None:
    """Accounts, paths, credit, opt-out, length, rate and id prefix are all settings."""
    settings, found = read({"definition": "generic-form", "paths": ["/a", "/b"], "credit": 3,
                            "accounts": [{"id": "a1", "login": "u", "password": "p"}], "opt_out": ["+1"],
                            "max_length": 130, "rate": 2, "id_prefix": "ez-"}, name="other")
    assert [] == found
    assert settings is not None
    assert (("/a", "/b"), (Account("a1", "u", "p"),), 3, frozenset({"+1"}), 130, 2.0, "ez-") == (
        settings.paths, settings.accounts, settings.credit, settings.opt_out, settings.max_length,
        settings.rate, settings.id_prefix)


def test_bad_settings_are_reported_with_their_paths() -> None:
    """Each bad key is a problem at its path under the fake."""
    _, found = read({"paths": ["api"], "credit": -1, "rate": 0, "accounts": [{"login": "u"}], "other": 1})
    assert ("fakes.f.paths[0]", "must start with / and not with /_smslab/") in found
    assert ("fakes.f.credit", "must be at least 0") in found
    assert ("fakes.f.rate", "must be at least 0.001") in found
    assert ("fakes.f.accounts[0].id", "is required") in found
    assert ("fakes.f.other", "is not a known field") in found


def test_an_unknown_definition_name_is_a_problem() -> None:
    """A definition name that is not shipped is reported under 'definition'."""
    settings, found = read({"definition": "nope"})
    assert None is settings
    assert "fakes.f.definition" == found[0][0]


def test_a_broken_definition_file_is_reported_with_its_own_field(tmp_path: Path) -> None:
    """The problem names the setting, then the definition file and the field inside it."""
    path = tmp_path / "b.yaml"
    path.write_text("name: b\nmt: {path: /s, params: {to: '{to}', t: '{text}'}}\nanswer: {format: csv}\n",
                    encoding="utf-8")
    _, found = read({"definition": str(path)})
    assert ("fakes.f.definition", f"{path}: answer.format: must be one of bare, json, xml, status") in found


def test_credit_is_spent_per_recipient_and_refused_when_short() -> None:
    """Credit 3 takes one message and then two, and refuses the next; reset restores it."""
    model = HttpDefModel(HttpDefSettings(EZ, ("/",), credit=3), random.Random(1))
    assert 1 == len(model.take(mt("1")))
    assert 2 == len(model.take(mt("2", "3")))
    assert Failure.CREDIT == refused(lambda: model.take(mt("4")))
    model.reset()
    assert 1 == len(model.take(mt("4")))


def test_opted_out_numbers_are_refused_before_credit_is_spent() -> None:
    """A request naming an opted-out number is refused whole and costs nothing."""
    model = HttpDefModel(HttpDefSettings(EZ, ("/",), credit=1, opt_out=frozenset({"2"})), random.Random(1))
    assert Failure.OPT_OUT == refused(lambda: model.take(mt("1", "2")))
    assert 1 == model.credit_left


def test_the_rate_is_per_client_over_a_sliding_second() -> None:
    """Two requests a second per client pass; the third waits until the first is a second old (EzTexting's limit)."""
    model = HttpDefModel(HttpDefSettings(EZ, ("/",), rate=2), random.Random(1))
    model.admit("a", 10.0)
    model.admit("a", 10.5)
    assert Failure.RATE_LIMITED == refused(lambda: model.admit("a", 10.9))
    model.admit("b", 10.9)
    model.admit("a", 11.0)


def test_message_ids_are_reproducible_per_seed() -> None:
    """The same seed gives the same ids, with the prefix in front."""
    settings = HttpDefSettings(EZ, ("/",), id_prefix="ez-")
    first = HttpDefModel(settings, random.Random(7)).take(mt("1", "2"))
    assert first == HttpDefModel(settings, random.Random(7)).take(mt("1", "2"))
    assert all(i.startswith("ez-") and len(i) == 19 for i in first)
    assert first[0] != first[1]
