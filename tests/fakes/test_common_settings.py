"""Tests for fakes.common.settings: the shared settings of every fake."""

import re
import ssl

import pytest
import trustme

from fakes.common.dlr import ExponentialDelay, FixedDelay, LogNormalDelay, UniformDelay
from fakes.common.faults import FaultKind
from fakes.common.push import PushMethod, RetryPolicy
from fakes.common.settings import CommonSettings, PushSettings, client_tls, read_common, server_tls
from sim.core.errors import ConfigError
from sim.core.schema import Reader
from sim.core.types import DeliveryState as S


def _read(data: dict, **kw) -> CommonSettings:
    r = Reader(data, "fakes.k1")
    settings = read_common(r, **kw)
    r.done()
    r.raise_if_problems()
    return settings


def test_every_key_is_read():
    """A full mapping becomes the matching frozen settings."""
    s = _read({
        "seed": 42, "time_scale": 0.01, "client_max_size": 4096, "mo_url": "http://cic:8080/mo",
        "dr_url": "https://cic/dr", "capture": {"limit": 50},
        "push": {"auth": {"username": "u", "password": "p"}, "timeout": 2, "concurrency": 4,
                 "max_pending": 9, "attempts_limit": 8, "verify": False},
        "retry": {"interval": 5, "total": 60},
        "dlr": {"enabled": False, "limit": 7, "delay": {"distribution": "uniform", "low": 1, "high": 2},
                "outcomes": {"delivered": 3, "failed": 1},
                "triggers": [{"pattern": "^\\+1555", "outcome": "expired"}]},
        "faults": [{"kind": "reset", "count": 1}],
    })
    assert (42, 0.01, 4096, "http://cic:8080/mo", "https://cic/dr", 50) == (
        s.seed, s.time_scale, s.client_max_size, s.mo_url, s.dr_url, s.capture_limit)
    assert PushSettings(("u", "p"), 2.0, 4, 9, 8, False, "") == s.push
    assert RetryPolicy(5.0, 60.0) == s.retry
    assert (False, 7, UniformDelay(1.0, 2.0), 0.01) == (s.dlr_enabled, s.dlr_limit, s.dlr.delays,
                                                        s.dlr.time_scale)
    assert ((S.DELIVERED, 3.0), (S.FAILED, 1.0)) == s.dlr.outcomes.weights
    assert [(re.compile("^\\+1555"), S.EXPIRED)] == list(s.dlr.outcomes.triggers)
    assert [FaultKind.RESET] == [f.kind for f in s.faults]


def test_push_method_is_the_brokers_own_unless_set():
    """push.method is None (the broker's format) when absent, GET or POST when set, in any case."""
    assert (None, PushMethod.GET, PushMethod.POST) == (
        _read({}).push.method, _read({"push": {"method": "GET"}}).push.method,
        _read({"push": {"method": "post"}}).push.method)


def test_a_bad_push_method_names_the_field_the_value_and_the_choices():
    """push.method: PUT is a config error at fakes.k1.push.method listing GET and POST."""
    with pytest.raises(ConfigError) as info:
        _read({"push": {"method": "PUT"}})
    [problem] = info.value.problems
    assert ("fakes.k1.push.method", "PUT") == (problem.path, problem.value)
    assert "must be one of POST, GET" in str(info.value)


def test_broker_defaults_apply_when_absent():
    """The broker's retry policy and DLR delay are the defaults when the mapping says nothing."""
    s = _read({}, retry=RetryPolicy(60.0, 172800.0), dlr_delay=3.0)
    assert (RetryPolicy(60.0, 172800.0), FixedDelay(3.0)) == (s.retry, s.dlr.delays)


def test_backoff_list():
    """retry.backoff replaces the fixed interval."""
    assert RetryPolicy(backoff=(1.0, 5.0)) == _read({"retry": {"backoff": [1, 5]}}).retry


@pytest.mark.parametrize(("delay", "expected"), [
    ({"distribution": "exponential", "mean": 2, "maximum": 9}, ExponentialDelay(2.0, 9.0)),
    ({"distribution": "lognormal", "median": 2, "sigma": 0.5}, LogNormalDelay(2.0, 0.5)),
    ({"seconds": 0.5}, FixedDelay(0.5)),
])
def test_delay_distributions(delay, expected):
    """Each distribution reads its own parameters."""
    assert expected == _read({"dlr": {"delay": delay}}).dlr.delays


def test_every_problem_is_reported_with_its_path():
    """Problems in nested settings are all collected, each with its full path."""
    with pytest.raises(ConfigError) as info:
        _read({"mo_url": "ftp://x", "capture": {"limit": 0}, "retry": {"backoff": [1, -1]},
               "dlr": {"delay": {"distribution": "exponential", "mean": "soon"},
                       "outcomes": {"delivered": 0}, "triggers": [{"pattern": "(", "outcome": "lost"}]},
               "tls": {"cert": "a.pem"}, "push": {"concurrency": 0, "colour": "red"},
               "faults": [{"kind": "nap"}]})
    assert sorted([
        "fakes.k1.mo_url", "fakes.k1.capture.limit", "fakes.k1.retry.backoff[1]",
        "fakes.k1.dlr.delay.mean", "fakes.k1.dlr.outcomes.delivered", "fakes.k1.dlr.triggers[0].pattern",
        "fakes.k1.dlr.triggers[0].outcome", "fakes.k1.tls.key", "fakes.k1.push.concurrency",
        "fakes.k1.push.colour", "fakes.k1.faults[0].kind",
    ]) == sorted(p.path for p in info.value.problems)


def test_tls_contexts(tmp_path):
    """tls.cert/key give a server context; push.verify and push.ca give the client side."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    s = _read({"tls": {"cert": str(tmp_path / "server.pem"), "key": str(tmp_path / "server.pem")},
               "push": {"ca": str(tmp_path / "ca.pem")}})
    assert isinstance(server_tls(s), ssl.SSLContext)
    assert isinstance(client_tls(s.push), ssl.SSLContext)
    assert (None, None, False) == (server_tls(CommonSettings()), client_tls(PushSettings()),
                                   client_tls(PushSettings(verify=False)))


def test_an_unknown_distribution_is_the_delays_only_problem():
    """A distribution that is not known is reported; the keys beside it are not called unknown."""
    with pytest.raises(ConfigError) as info:
        _read({"dlr": {"delay": {"distribution": "nosuch", "seconds": 1, "mean": 2}}})
    assert ["fakes.k1.dlr.delay.distribution"] == [p.path for p in info.value.problems]


def test_a_push_ca_that_cannot_be_loaded_is_a_problem_with_its_path(tmp_path):
    """push.ca naming no file, or a file that is no PEM bundle, is a problem at fakes.NAME.push.ca."""
    (tmp_path / "junk.pem").write_text("not a certificate", encoding="utf-8")
    for ca in (str(tmp_path / "absent.pem"), str(tmp_path / "junk.pem")):
        with pytest.raises(ConfigError) as info:
            _read({"push": {"ca": ca}})
        [problem] = info.value.problems
        assert (problem.path, problem.value) == ("fakes.k1.push.ca", ca)
        assert problem.reason.startswith("cannot be loaded as a PEM bundle: ")
