"""What the locustfiles know of the lab they load, handed from ``smslab load`` to the Locust processes.

``smslab load`` runs Locust in its own processes (gevent patches the interpreter it is imported into), so
nothing can be passed to a user class in memory. The harness writes one ``Plan`` as a JSON file and names
it in the environment (``SMSLAB_LOAD_PLAN``); every Locust process (the master and each worker) reads it
at import. It holds the control API's URL, each broker's push target through the proxy, its wire, its
Local Address and its fake's URL, the run's tag (put in every message id and text, so the lab's own
records of this run can be told from any other), where each process writes its log of MOs, and the fault
to inject. This module imports nothing of Locust: the harness and the tests read and write plans too.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ENV", "BrokerPlan", "Plan"]

ENV = "SMSLAB_LOAD_PLAN"


@dataclass(frozen=True)
class BrokerPlan:
    """One broker as the locustfiles push to it and load its fake.

    Attributes:
        name: the broker's name in the lab file (``kaleyra``).
        wire: ``portico`` or the broker definition's name or file (``kaleyra-directtext``).
        mo_url: its MO push target through the proxy (the proxy's URL and the broker's Incoming Path).
        local_address: the account's Local Address, the number handsets text.
        fake_url: its fake's base URL ("" when the lab is not ours to read).
        login: the account's login, for a fake's MT API.
        password: the account's password.
        mt_path: the broker's Outgoing Path (its MT API on the fake).
    """

    name: str
    wire: str
    mo_url: str
    local_address: str
    fake_url: str = ""
    login: str = ""
    password: str = ""
    mt_path: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything a Locust process needs of the run.

    Attributes:
        control_url: the lab's control API base URL.
        brokers: the brokers, in the lab file's order.
        tag: this run's tag (hex), the prefix of every message id it makes.
        out_dir: where each Locust process writes ``mo-<pid>.tsv`` (its MOs) and the fault's record.
        fail_at: seconds after the test starts at which the active node is failed (``None``: never).
        fail_mode: ``kill`` or ``hang``.
        dlr_brokers: (broker, classification, number kind) of the brokers agent MTs go to: the
            classification that lets the send through that broker's outbound route, and ``handset`` or
            ``international`` for the numbers that route matches.
        wait: seconds a user waits between two of its tasks (0: as fast as it is answered).
    """

    control_url: str
    brokers: tuple[BrokerPlan, ...]
    tag: str
    out_dir: str
    fail_at: float | None = None
    fail_mode: str = "kill"
    dlr_brokers: tuple[tuple[str, str, str], ...] = field(default=())
    wait: float = 0.0

    def write(self, path: Path) -> Path:
        """Write the plan as JSON to ``path``; returns it."""
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """A plan from its JSON form."""
        brokers = tuple(BrokerPlan(**b) for b in data["brokers"])
        dlr = tuple(tuple(entry) for entry in data.get("dlr_brokers", ()))
        return cls(**{**data, "brokers": brokers, "dlr_brokers": dlr})

    def inline(self) -> str:
        """The plan as one line of JSON, for ``SMSLAB_LOAD_PLAN`` on a worker host that lacks the file."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_env(cls) -> Plan:
        """The plan the environment gives (``SMSLAB_LOAD_PLAN``): a file's path, or the plan's JSON itself
        (how a worker on another host gets it).

        Raises:
            RuntimeError: the variable is not set (the locustfile was not started by ``smslab load``).
        """
        value = os.environ.get(ENV, "").strip()
        if not value:
            raise RuntimeError(f"{ENV} is not set: run this locustfile with `smslab load`, which writes the "
                               "plan of the lab it loads")
        text = value if value.startswith("{") else Path(value).read_text(encoding="utf-8")
        return cls.from_json(json.loads(text))
