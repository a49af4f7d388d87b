"""The carrier model behind a live fake: a plain SimPy environment stepped from the fake's event loop.

When a fake's settings have ``carriers:`` (a lab file's top-level ``carriers:`` reaches every fake), each MT
the fake accepts is handed to a ``sim.carrier.model.CarrierNetwork``, and its DLR is delivered when the
network says so, instead of after the fixed ``dlr.delay``. The fake's ``populations:`` (the lab file's
populations that name it as their ``broker``) send MOs on the same clock, and reply to the MTs their
handsets receive.

The environment is never a ``simpy.rt.RealtimeEnvironment``: that one sleeps in ``time.sleep`` between
events, which would stop the fake's event loop, and so every request it serves. Here simulated time is
mapped onto the fake's clock, ``sim = (clock.now() - started) / time_scale``, and the loop drives it:

- ``advance()`` processes every event due by now (``env.step`` while ``env.peek()`` is due), then moves the
  environment's clock to now (one timeout to now, stepped), so what an HTTP request submits is stamped
  with the time it arrived; ``admits`` asks the network about now without stepping (no event moves a
  queue), so a request costs the environment one move;
- one ``clock.call_later`` timer is armed for the next event's wall time (re-armed when an earlier event
  appears), the same one-timer rule as ``DlrScheduler``: no task per message;
- a DLR reaches the fake from one loop callback per batch (``_hand_on``), with every other DLR due by
  then, whichever request or timer stepped the environment past it; the model itself (its counts, a
  population's reply) sees it at its simulated time.

The same seed gives the same run as the environment stepped offline: the same outcomes at the same
simulated times.

Each fake has its own network: caps apply to each broker's traffic to a carrier, as each broker has its own
connections to the carriers. ``time_scale`` is the fake's own (0.01: a 2 s carrier latency takes 20 ms);
it must be above 0 with carriers, since simulated time could not advance otherwise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import simpy

from fakes.common.clock import Cancellable, Clock
from sim.carrier.model import CarrierNetwork, Mt, Submitted
from sim.carrier.population import Mo, Population, PopulationSettings
from sim.carrier.settings import CarrierSettings
from sim.core.errors import SegmentationError
from sim.core.segmentation import ParsingMode, segment
from sim.core.types import DeliveryState

__all__ = ["LiveCarrier", "parts_of"]

OnDlr = Callable[[Any, DeliveryState, str], None]
_ONE_PART_ANY = 35  # characters: 70 UTF-16 units (or 70 septets) at most
_ONE_PART_ASCII = 70  # ASCII characters: 70 units in UCS-2, 140 septets at most in GSM-7


def parts_of(text: str) -> int:
    """How many parts a carrier delivers for ``text`` (one past 255, where segmentation gives up)."""
    # Most MTs are short, and a short text is one part whatever its encoding, without encoding it: one
    # part holds 160 septets or 70 UTF-16 units (TS 23.040 §9.2.3.16), a character costs at most two
    # septets (an extension character) or two units (a surrogate pair), and an ASCII character one unit.
    if len(text) <= _ONE_PART_ANY or (len(text) <= _ONE_PART_ASCII and text.isascii()):
        return 1
    try:
        return len(segment(text, ParsingMode.SPLIT).segments)
    except SegmentationError:
        return 1


class LiveCarrier:
    """A carrier network and its populations on a fake's clock.

    Args:
        clock: the fake's clock.
        carriers: the carriers (``sim.carrier.settings.read_carriers``).
        rng: the network's random source (the fake's own, so a seed fixes the run).
        time_scale: wall seconds per simulated second (above 0).
        on_dlr: called with ``(context, state, code)`` when an MT's DLR reaches the broker; ``context`` is
            what ``submit`` was given.
        populations: handset populations whose MOs go to ``on_mo``.
        on_mo: called with each MO a population sends, at its time.
        on_error: called with an exception raised while stepping (the fake records it).
    """

    def __init__(self, clock: Clock, carriers: Sequence[CarrierSettings], rng: random.Random,
                 time_scale: float, on_dlr: OnDlr, *, populations: Sequence[PopulationSettings] = (),
                 on_mo: Callable[[Mo], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        if not time_scale > 0:
            raise ValueError("a live carrier model needs a time_scale above 0")
        self.clock = clock
        self.time_scale = time_scale
        self.env = simpy.Environment()
        self.network = CarrierNetwork(self.env, carriers, rng, self._dlr)
        self.on_dlr = on_dlr
        self.on_error = on_error
        self._on_mo = on_mo
        self.populations = [Population(p, random.Random(rng.random()), self._mo, seed=rng.randrange(2**32))
                            for p in populations]
        self.started: float | None = None
        self._timer: Cancellable | None = None
        self._armed_for = math.inf
        self._done: list[tuple[Any, DeliveryState, str]] = []  # DLRs reached the broker, not yet handed on
        self._handing: Cancellable | None = None
        self.mos = 0

    # -- the loop's side --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start simulated time at the clock's now, and the populations (idempotent)."""
        if self.started is not None:
            return
        self.started = self.clock.now()
        for population in self.populations:
            self.env.process(population.run(self.env))
        self._arm()

    def stop(self) -> None:
        """Disarm the timers; nothing more is processed or handed on (DLRs not yet handed on are dropped)
        until ``start`` is called again on a new model."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_for = math.inf
        if self._handing is not None:
            self._handing.cancel()
            self._handing = None
        self._done.clear()

    def sim_now(self) -> float:
        """The simulated time the fake's clock stands at now."""
        if self.started is None:
            return 0.0
        return max(0.0, (self.clock.now() - self.started) / self.time_scale)

    def advance(self) -> None:
        """Process every event due by now, then stand the environment's clock at now."""
        if self.started is None:
            self.start()
        now = self.sim_now()
        env = self.env
        while env.peek() <= now:
            env.step()
        if now > env.now:
            # What ``env.run(until=now)`` does, without its stop event and the StopSimulation exception it
            # raises per call (the most of an MT's cost in the model, once per request): every event due
            # by now is processed, so a plain timeout to now is the next one, and stepping it lands the
            # clock on the very time ``run`` would.
            mark = env.timeout(now - env.now)
            while not mark.processed:
                env.step()

    # -- what the fake asks -----------------------------------------------------------------------------

    def admits(self, recipients: Sequence[str], sender: str) -> bool:
        """Whether every recipient's carrier takes an MT from ``sender`` now (else the broker throttles)."""
        if self.started is None:
            self.start()
        now = self.sim_now()  # asked at now without stepping there: events never move a queue
        return all(self.network.admits(number, sender, now) for number in recipients)

    def submit(self, message_id: str, recipient: str, sender: str, parts: int, context: Any) -> Submitted:
        """Hand one accepted MT to its carrier; ``on_dlr(context, ...)`` follows unless it is throttled."""
        self.advance()
        answer = self.network.submit(Mt(message_id, recipient, sender, max(1, parts), context))
        self._arm()
        return answer

    def stats(self) -> dict[str, Any]:
        """What the network has seen (counts and latency histograms, in simulated seconds), for health."""
        self.advance()
        out = self.network.stats.to_dict()
        out.update({"sim_time": round(self.env.now, 6), "time_scale": self.time_scale, "mos": self.mos,
                    "queues": [{"carrier": c, "sender_type": k, "backlog_s": round(s, 6)}
                               for (c, k), s in self.network.backlogs().items()]})
        return out

    # -- the environment's side -------------------------------------------------------------------------

    def _dlr(self, mt: Mt, state: DeliveryState, code: str) -> None:
        if state is DeliveryState.DELIVERED:
            for population in self.populations:
                population.mt_arrived(mt.recipient)  # at the DLR's simulated time: the reply's think time
        # The model is done with the MT at its simulated time; the fake gets the DLR from a loop callback, in
        # a batch with the others due by then (``_hand_on``), not in the middle of whichever request
        # stepped the environment past it. The broker's DR pushes then go out back to back, as the fixed
        # delay model's scheduler sends them, instead of one between each pair of requests (each then
        # waking the customer's server on its own: the most of what the model added to an MT's cost).
        self._done.append((mt.context, state, code))
        if self._handing is None:
            self._handing = self.clock.call_later(0.0, self._hand_on)

    def _hand_on(self) -> None:
        self._handing = None
        done, self._done = self._done, []
        for context, state, code in done:
            try:
                self.on_dlr(context, state, code)
            except Exception as exc:  # one bad DR must not keep the others of the batch from the broker
                if self.on_error is None:
                    raise
                self.on_error(exc)

    def _mo(self, mo: Mo) -> None:
        self.mos += 1
        if self._on_mo is not None:
            self._on_mo(mo)

    def _arm(self) -> None:
        due = self.env.peek()
        if due == math.inf or self.started is None:
            return
        if due >= self._armed_for and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = due
        wall = self.started + due * self.time_scale
        self._timer = self.clock.call_later(wall - self.clock.now(), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._armed_for = math.inf
        try:
            self.advance()
        except Exception as exc:  # a bug in a callback must not stop the timer for every later event
            if self.on_error is None:
                raise
            self.on_error(exc)
        self._arm()
