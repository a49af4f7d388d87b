"""Tests of sim.cic.settings: reading cic.nodes.<name> with every problem named."""

from __future__ import annotations

import pytest

from sim.cic.settings import BackupAnswer, NodeSettings, SmsScheme, read_node_settings
from sim.core.errors import ConfigError
from sim.core.schema import Reader


def read(nodes: object, name: str = "primary") -> NodeSettings:
    """Read one node's settings from a cic.nodes mapping, raising its problems."""
    r = Reader(nodes, "cic.nodes")
    settings = read_node_settings(r, name)
    r.raise_if_problems()
    return settings


def test_an_absent_section_gives_the_documented_defaults() -> None:
    """No cic.nodes.backup: every default, with the name filled in."""
    assert NodeSettings(name="backup") == read({}, "backup")
    assert (200, "OK", BackupAnswer.UNAVAILABLE) == (NodeSettings().health_status, NodeSettings().health_body,
                                                      NodeSettings().backup_answer)


def test_every_key_is_read() -> None:
    """Ports (keys as YAML ints or strings), the backup answer as a number or a word, and the rest."""
    got = read({"primary": {"host": "0.0.0.0", "ports": {8080: 18080, "8443": 0}, "control_port": 9100,
                            "health_status": 204, "health_body": "", "backup_answer": 404, "store": "p.db",
                            "slow_delay": 0.5, "tls_cert": "c.pem", "tls_key": "k.pem", "mt_ca": "ca.pem",
                            "tick": 0.1, "mirror_timeout": 1, "log_limit": 10, "client_max_size": 2048}})
    assert NodeSettings("primary", "0.0.0.0", {8080: 18080, 8443: 0}, 9100, 204, "", BackupAnswer.NOT_FOUND,
                        "p.db", 0.5, "c.pem", "k.pem", "ca.pem", 0.1, 1.0, 10, 2048) == got
    assert (18080, 0) == (got.bind_port(8080), got.bind_port(9999))
    assert BackupAnswer.HANG == read({"primary": {"backup_answer": "HANG"}}).backup_answer


def test_problems_name_the_path_the_value_and_the_reason() -> None:
    """A bad answer, a bad port, a lone certificate and an unknown key are all reported together."""
    with pytest.raises(ConfigError) as caught:
        read({"primary": {"backup_answer": "500", "ports": {"x": 1, 8080: 70000}, "tls_cert": "c.pem",
                          "colour": "blue"}})
    assert [("cic.nodes.primary.ports.x", "must be a configured Incoming HTTP Port (1-65535)"),
            ("cic.nodes.primary.ports.8080", "must be a port number (0-65535; 0 = any free port)"),
            ("cic.nodes.primary.backup_answer", "must be one of refuse, 503, 404, hang"),
            ("cic.nodes.primary.tls_key", "must be given with the other of tls_cert and tls_key"),
            ("cic.nodes.primary.colour", "is not a known field")] == [
        (p.path, p.reason) for p in caught.value.problems]


def test_sms_scheme_is_read_and_https_needs_a_certificate() -> None:
    """sms_scheme takes auto, http or https (default auto); https without tls_cert and other words are problems."""
    assert (SmsScheme.AUTO, SmsScheme.HTTP) == (read({}).sms_scheme, read({"primary": {"sms_scheme": "HTTP"}}).sms_scheme)
    with pytest.raises(ConfigError) as caught:
        read({"primary": {"sms_scheme": "https"}, "backup": {"sms_scheme": "tls"}})
    assert [("cic.nodes.primary.tls_cert", "is required with sms_scheme https (the SMS listeners present it)")] == [
        (p.path, p.reason) for p in caught.value.problems]
    with pytest.raises(ConfigError) as caught:
        read({"backup": {"sms_scheme": "tls"}}, "backup")
    assert [("cic.nodes.backup.sms_scheme", "must be one of auto, http, https")] == [
        (p.path, p.reason) for p in caught.value.problems]
