"""The smslab pytest plugin (entry point ``pytest11``: ``smslab = "scenarios.plugin"``).

Fixtures::

    smslab_lab      session: one lab per pytest-xdist worker, on its own ports (each
                    worker its own proxy and CIC pair); or the lab at --smslab-url, already up
    smslab          function: a ``SmslabClient`` (``scenarios.lab.client.LabClient`` plus helpers), with the
                    lab reset before the test (captures, interactions and faults back to the start)
    smslab_broker   function: ``smslab_broker("kaleyra")`` -> a ``BrokerView`` of one fake broker
    smslab_nodes    function: a ``NodesView``: fail, restore, switch over, read roles
    smslab_load     function: ``smslab_load("mo_push", run_time=5)`` -> the figures of a short
                    ``smslab load`` run against the session's lab (Locust in its own processes)

Options: ``--smslab-config FILE`` (a lab file instead of the embedded default), ``--smslab-url URL`` (use a
lab already up, e.g. from ``smslab up``), ``--smslab-processes`` (each component in its own process).

Example::

    def test_mo_reaches_a_queue(smslab):
        smslab.mo("kaleyra", sender="+13175550101", to="8005550100", text="hello")
        smslab.wait_for(smslab.interactions, lambda found: len(found) == 1, timeout=5)
        [conversation] = smslab.interactions(customer="+13175550101")  # every page, filtered by the lab
        smslab.send("+13175550101", "hi back")
        smslab.broker("kaleyra").expect_messages(kind="dlr", count=1)

``smslab.interactions(...)`` reads every page of ``GET /_smslab/interactions`` (customer, state and since
filter them on the node); ``smslab.interactions_page(limit, cursor)`` reads one.

The plugin imports nothing heavy until a fixture is used (the lab, aiohttp and the CIC node are imported
inside ``smslab_lab``), so installing smslab costs other test suites nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios.lab.client import LabClient, WaitTimeout

__all__ = ["BrokerView", "LabThread", "LoadError", "NexusView", "NodesView", "SmslabClient",
           "pytest_addoption", "run_load"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's command-line options."""
    group = parser.getgroup("smslab", "smslab lab fixtures")
    group.addoption("--smslab-config", default=None, help="lab file for the smslab_lab fixture "
                                                          "(default: the embedded default lab)")
    group.addoption("--smslab-url", default=None, help="use the lab already up at this URL")
    group.addoption("--smslab-processes", action="store_true", default=False,
                    help="run each fake, node and proxy of the lab in its own process")


def _describe(records: list[dict[str, Any]]) -> str:
    if not records:
        return "  (nothing captured)"
    return "\n".join(f"  #{r.get('seq')} {r.get('kind')} from={r.get('from')!r} to={r.get('to')!r} "
                     f"text={r.get('text')!r} id={r.get('message_id')!r} state={r.get('state')!r}"
                     for r in records)


class BrokerView:
    """One fake broker of the lab, through the control API.

    Args:
        client: the lab's client.
        name: the broker's name.
    """

    def __init__(self, client: LabClient, name: str) -> None:
        self.client = client
        self.name = name

    def messages(self, *, kind: str = "", to: str = "", sender: str = "") -> list[dict[str, Any]]:
        """Captured records, filtered as ``GET /_smslab/brokers/{name}/messages`` does."""
        return self.client.messages(self.name, kind=kind, to=to, sender=sender)

    def clear(self) -> Any:
        """Forget what this broker captured."""
        return self.client.clear_messages(self.name)

    def mo(self, sender: str, to: str, text: str) -> dict[str, Any]:
        """The broker pushes an MO through the proxy; returns the captured record."""
        return self.client.mo(self.name, sender=sender, to=to, text=text)

    def expect_messages(self, *, kind: str = "", to: str = "", sender: str = "", text: str | None = None,
                        count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until exactly ``count`` records match; return them.

        Raises:
            AssertionError: not within ``timeout`` seconds; the message lists what was expected and
                every record this broker captured instead.
        """
        def matching() -> list[dict[str, Any]]:
            found = self.messages(kind=kind, to=to, sender=sender)
            return [r for r in found if text is None or r.get("text") == text]

        try:
            return self.client.wait_for(matching, lambda found: len(found) == count, timeout=timeout)
        except WaitTimeout as exc:
            wanted = {k: v for k, v in (("kind", kind), ("to", to), ("from", sender), ("text", text)) if v}
            seen = len(exc.last) if isinstance(exc.last, list) else "no answer"
            raise AssertionError(
                f"broker {self.name}: expected {count} message(s) matching {wanted} within {timeout:g} s, "
                f"found {seen}; captured:\n{_describe(self.messages())}") from None


class NodesView:
    """The CIC pair, through the control API."""

    def __init__(self, client: LabClient) -> None:
        self.client = client

    def fail(self, name: str, mode: str) -> Any:
        """Inject a fault (kill, hang, slow, partition, crash-on-mo)."""
        return self.client.fail(name, mode)

    def restore(self, name: str) -> Any:
        """Undo a node's fault."""
        return self.client.restore(name)

    def switchover(self) -> Any:
        """A manual switchover."""
        return self.client.switchover()

    def status(self) -> dict[str, Any]:
        """The switchover status."""
        return dict(self.client.health()["switchover"])

    def roles(self) -> dict[str, str]:
        """Node name -> role."""
        return {name: str(node.get("role")) for name, node in self.client.health()["nodes"].items()}

    def wait_active(self, name: str, timeout: float = 10.0) -> None:
        """Wait until ``name`` is the active node."""
        self.client.wait_for(lambda: self.status().get("active") == name, timeout=timeout)


class NexusView:
    """The lab's Digital Channels (a lab file with a ``nexus:`` section), through the control API."""

    def __init__(self, client: LabClient) -> None:
        self.client = client

    def interactions(self, *, kind: str = "", section: str = "") -> list[dict[str, Any]]:
        """Its interactions (``kind``: chat or campaign_response; ``section``: a ``chat.<name>`` section)."""
        return self.client.nexus_interactions(kind=kind, section=section)

    def reply(self, interaction: str, text: str) -> dict[str, Any]:
        """An agent's reply in a chat, sent through the section's provider; the message (pending)."""
        return self.client.nexus_reply(interaction, text)

    def expect_interaction(self, *, section: str = "", text: str = "", kind: str = "",
                           timeout: float = 5.0) -> dict[str, Any]:
        """Wait for an interaction (of ``section``/``kind``) holding a message ``text``; return it.

        Raises:
            AssertionError: not within ``timeout`` seconds, listing the interactions there are.
        """
        def matching() -> list[dict[str, Any]]:
            return [i for i in self.interactions(kind=kind, section=section)
                    if not text or any(m["text"] == text for m in i["messages"])]

        try:
            return self.client.wait_for(matching, timeout=timeout)[0]
        except WaitTimeout:
            seen = [(i["section"], [m["text"] for m in i["messages"]]) for i in self.interactions()]
            raise AssertionError(f"nexus: no interaction of {section or 'any section'} with {text!r} within "
                                 f"{timeout:g} s; there are: {seen}") from None

    def expect_state(self, interaction: str, message: str, state: str = "delivered",
                     timeout: float = 5.0) -> dict[str, Any]:
        """Wait until a message of an interaction is in ``state`` (e.g. delivered); return the message.

        Raises:
            AssertionError: not within ``timeout`` seconds, naming the state it is in.
        """
        def found() -> list[dict[str, Any]]:
            one = self.client.nexus_interaction(interaction)
            return [m for m in one["messages"] if m["id"] == message and m["state"] == state]

        try:
            return self.client.wait_for(found, timeout=timeout)[0]
        except WaitTimeout:
            now = [m for m in self.client.nexus_interaction(interaction)["messages"] if m["id"] == message]
            raise AssertionError(f"nexus: message {message} not {state} within {timeout:g} s: "
                                 f"{now}") from None


class SmslabClient(LabClient):
    """A ``LabClient`` with per-broker and per-node views, and the lab's Digital Channels."""

    @property
    def nexus(self) -> NexusView:
        """The lab's Digital Channels (Nexus)."""
        return NexusView(self)

    def broker(self, name: str) -> BrokerView:
        """A view of one fake broker."""
        return BrokerView(self, name)

    @property
    def nodes(self) -> NodesView:
        """The CIC pair."""
        return NodesView(self)

    def expect_messages(self, broker: str, **kwargs: Any) -> list[dict[str, Any]]:
        """``self.broker(broker).expect_messages(**kwargs)``."""
        return self.broker(broker).expect_messages(**kwargs)


class LabThread:
    """A lab running on its own event loop in a background thread, for synchronous tests.

    Args:
        config: a lab file path, or ``None`` for the embedded default lab.
        processes: each component in its own process.
    """

    def __init__(self, config: str | None = None, processes: bool = False) -> None:
        self.config = config
        self.processes = processes
        self.url = ""
        self.lab: Any = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smslab-lab", daemon=True)

    def start(self) -> str:
        """Start the loop thread and the lab on it; returns the control API's URL."""
        from scenarios.lab.assembly import Lab  # noqa: PLC0415 - heavy; only when a lab is wanted
        from scenarios.lab.check import load_lab  # noqa: PLC0415

        try:
            config = load_lab(self.config) if self.config else None  # every problem, before a thread starts
        except BaseException:
            self._loop.close()
            raise
        self._thread.start()
        self.lab = Lab(config, processes=self.processes)
        try:
            self.url = asyncio.run_coroutine_threadsafe(self.lab.start(), self._loop).result(120)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop the lab, then the loop and its thread."""
        try:
            if self.lab is not None:
                asyncio.run_coroutine_threadsafe(self.lab.stop(), self._loop).result(60)
        finally:
            if self._thread.is_alive():
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(30)
            if not self._loop.is_closed():
                self._loop.close()


@pytest.fixture(scope="session")
def smslab_lab(request: pytest.FixtureRequest) -> Iterator[SmslabClient]:
    """One lab for the session (per xdist worker, on its own ports), or the one at ``--smslab-url``."""
    url = request.config.getoption("--smslab-url")
    if url:
        yield SmslabClient(url)
        return
    option = request.config.getoption
    runner = LabThread(option("--smslab-config"), option("--smslab-processes"))
    runner.start()
    try:
        yield SmslabClient(runner.url)
    finally:
        runner.stop()


@pytest.fixture
def smslab(smslab_lab: SmslabClient) -> SmslabClient:
    """The lab's client, with the lab reset before the test."""
    smslab_lab.reset()
    return smslab_lab


@pytest.fixture
def smslab_broker(smslab: SmslabClient) -> Callable[[str], BrokerView]:
    """A factory: ``smslab_broker("kaleyra")`` -> that broker's view (the lab reset before the test)."""
    known = {b["name"] for b in smslab.brokers()}

    def view(name: str) -> BrokerView:
        if name not in known:
            raise LookupError(f"unknown broker {name!r}; the lab's brokers are {', '.join(sorted(known))}")
        return smslab.broker(name)

    return view


@pytest.fixture
def smslab_nodes(smslab: SmslabClient) -> NodesView:
    """The CIC pair's view (the lab reset before the test)."""
    return smslab.nodes


class LoadError(RuntimeError):
    """``smslab load`` refused the run (exit 2: bad input, Locust missing or failing to start)."""


def run_load(url: str, locustfile: str = "mo_push", *, config: str | None = None, users: int = 4,
             run_time: int = 5, timeout: float = 120.0, **options: Any) -> dict[str, Any]:
    """Run ``smslab load`` against the lab at ``url`` as a subprocess; its figures (``--json``).

    Locust is never imported here: gevent patches the interpreter it is imported into, so the run is its
    own ``python -m scenarios.cli.main load`` process, and Locust's its own below that.

    Args:
        url: the lab's control API.
        locustfile: a locustfile's name (``mo_push``, ``agent_mt``, ``conversation``, ``fake_mt``) or path.
        config: the lab file that describes the lab (its brokers and routes); the default lab's otherwise.
        users: concurrent Locust users.
        run_time: seconds of load.
        timeout: seconds before the run is given up.
        options: more options of ``smslab load`` by name: ``min_rps=100`` is ``--min-rps 100``, a
            ``True`` value a bare flag.

    Returns:
        The figures; ``figures["passed"]`` is false (exit 1) when a check or threshold failed, and
        ``figures["checks"]`` names each.

    Raises:
        LoadError: the run was refused (exit 2), with the command's own message.
    """
    with tempfile.TemporaryDirectory(prefix="smslab-load-") as tmp:
        out = Path(tmp) / "figures.json"
        argv = [sys.executable, "-m", "scenarios.cli.main", "load", locustfile, "--url", url,
                "-u", str(users), "-t", str(run_time), "--json", str(out),
                *(["--config", config] if config else [])]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            argv += [flag] if value is True else [flag, str(value)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode == 2 or not out.is_file():
            raise LoadError(done.stderr.strip() or f"smslab load exited {done.returncode}")
        return dict(json.loads(out.read_text(encoding="utf-8")))


@pytest.fixture
def smslab_load(smslab: SmslabClient, request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """``smslab_load(locustfile="mo_push", users=4, run_time=5, **options)``: a short load test against the
    session's lab (reset before the test), as ``run_load`` runs it; returns its figures."""
    config = request.config.getoption("--smslab-config")

    def load(locustfile: str = "mo_push", **options: Any) -> dict[str, Any]:
        return run_load(smslab.base_url, locustfile, config=config, **options)

    return load
