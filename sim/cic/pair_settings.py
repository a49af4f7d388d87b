"""The switchover pair's settings: ``PairSettings`` and its reading from the lab file.

Settings (lab file, section ``cic.switchover``; every key optional; durations in seconds as on a real server,
all multiplied by ``time_scale``; names and defaults from the Automated Switchover Technical Reference,
"TS Ping" and "Switchover NetTest Server Parameters")::

    cic:
      switchover:
        ts_timeout: 10        # Switchover TS Timeout (allowed 5-60)
        retry_delay: 1        # Switchover TS Failure Retry Delay
        max_failures: 2       # Switchover Max TS Failures (the count resets on success)
        nettest_timeout: 1    # Switchover NetTest Timeout
        takeover_time: 5      # GAP (PureConnect's "Switchover" page: "less than 30 seconds")
        ping_interval: 1      # GAP: the pause between successful pings
        time_scale: 1.0       # e.g. 0.01 runs a 21 s detection in 0.21 s
        nettest: ""           # Switchover NetTest A/B address, host:port ("" = always reachable)
        manual_only: false    # the servers run different releases: no takeover on failure ("The
                              # Switchover Control Panel")

``SMS Interaction Recovery Enabled`` comes from the server parameters; at start it is in effect when set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.cic.nettest import split_host_port
from sim.core.config import ServerParameters
from sim.core.schema import Reader
from sim.core.switchover import Timers

__all__ = ["PairSettings", "read_pair_settings"]


@dataclass(frozen=True)
class PairSettings:
    """The pair's settings (see the module docstring for each key).

    Attributes:
        timers: the switchover server parameters, unscaled.
        time_scale: the factor applied to every duration.
        nettest: the NetTest address, ``host:port``; "" = always reachable.
        manual_only: the backup never takes over on failure.
        recovery: ``SMS Interaction Recovery Enabled`` as configured.
    """

    timers: Timers = field(default_factory=Timers)
    time_scale: float = 1.0
    nettest: str = ""
    manual_only: bool = False
    recovery: bool = False

    @property
    def scaled(self) -> Timers:
        """The timers the runtime uses: every duration multiplied by ``time_scale``."""
        return self.timers.scaled(self.time_scale)


def read_pair_settings(r: Reader, server_parameters: ServerParameters) -> PairSettings:
    """Read the pair's settings; problems are recorded on ``r`` (the caller raises them).

    The caller also calls ``r.done()`` afterwards, so that a misspelt key is reported (once).

    Args:
        r: a reader of the ``cic.switchover`` mapping itself.
        server_parameters: the CIC server parameters (for ``SMS Interaction Recovery Enabled``).
    """
    timers = Timers(
        ts_timeout=r.number("ts_timeout", 10.0, minimum=5, maximum=60),
        retry_delay=r.number("retry_delay", 1.0, minimum=0, maximum=3600),
        max_failures=r.integer("max_failures", 2, minimum=1, maximum=1000),
        nettest_timeout=r.number("nettest_timeout", 1.0, minimum=0.001, maximum=3600),
        takeover_time=r.number("takeover_time", 5.0, minimum=0, maximum=3600),
        ping_interval=r.number("ping_interval", 1.0, minimum=0.001, maximum=3600),
    )
    scale = r.number("time_scale", 1.0, minimum=0.0001, maximum=1000)
    nettest = r.text("nettest", "")
    if nettest and not split_host_port(nettest):
        r.problem("nettest", nettest, "must be host:port with a port of 1-65535, or empty")
    manual_only = r.boolean("manual_only", False)
    return PairSettings(timers, scale, nettest, manual_only, server_parameters.sms_interaction_recovery)
