"""Handset populations: customers who send MOs, on a SimPy clock, deterministic for a seed.

The ``populations:`` section of a what-if or lab file, one entry per population::

    populations:
      - name: uk-customers
        country: "+44"             # the numbers' country code: Faker's locale for it makes the numbers
        size: 1000                 # distinct handsets
        to: "8005550100"           # the number they text (the broker account's)
        arrivals: {kind: poisson, rate: 2.0}           # MOs per second, or
        # arrivals: {kind: bursty, rate: 20.0, on: 10, off: 50}  # `rate` for `on` s, then `off` s quiet
        reply: {probability: 0.3, think: {distribution: exponential, mean: 20}}  # an MO back after an MT
        texts: {gsm: 0.7, long: 0.2, unicode: 0.1}  # short GSM-7, multipart GSM-7, UCS-2 with emoji
        broker: kaleyra            # in a lab file: the fake that pushes these MOs (one fake: may be left out)

``Population.run(env)`` is the SimPy process of its arrivals; each MO goes to ``on_mo(mo)`` at its time.
``mt_arrived(number)`` tells the population that a handset got an MT, so it may reply after its think time.
Numbers come from Faker seeded with the population's seed, for the country's locale (``LOCALES``; an
unknown country code gets digits after it), normalised to E.164.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy
from faker import Faker

from sim.carrier.distributions import DelayModel, ExponentialDelay, read_delay
from sim.carrier.settings import read_named_list
from sim.core.schema import Reader

__all__ = ["LOCALES", "Arrivals", "Mo", "Population", "PopulationSettings", "draw_text", "make_numbers",
           "read_populations", "read_texts", "seeded_populations"]

#: The Faker locale whose phone numbers stand for a country code.
LOCALES = {"1": "en_US", "44": "en_GB", "33": "fr_FR", "49": "de_DE", "34": "es_ES", "61": "en_AU",
           "91": "en_IN", "55": "pt_BR", "81": "ja_JP"}
_NATIONAL_DIGITS = {"1": 10, "44": 10, "33": 9, "49": 10, "34": 9, "61": 9, "91": 10, "55": 11, "81": 10}
_TEXTS = {
    "gsm": ("Where is my order?", "Yes please", "Can I change my delivery address?", "STOP", "Thanks!"),
    "long": ("Hello, I ordered a table last week and the tracking page has said 'out for delivery' for three "
             "days now. Could someone tell me when it will arrive, and whether I need to be at home to sign "
             "for it? I am out most afternoons this week, so a morning slot would be much better for me.",),
    "unicode": ("Merci beaucoup 😊", "Où est mon colis ? 📦", "Спасибо!", "ありがとう 🙏"),
}


@dataclass(frozen=True)
class Mo:
    """An MO a handset sends: from, to, text, and the population it came from."""

    sender: str
    to: str
    text: str
    population: str


@dataclass(frozen=True)
class Arrivals:
    """Poisson at ``rate`` per second; bursty: Poisson at ``rate`` for ``on`` s, then ``off`` s quiet."""

    kind: str = "poisson"
    rate: float = 1.0
    on: float = 0.0
    off: float = 0.0


@dataclass(frozen=True)
class PopulationSettings:
    """One population (see the module docstring)."""

    name: str
    country: str = "1"
    size: int = 100
    to: str = ""
    arrivals: Arrivals = Arrivals()
    reply_probability: float = 0.0
    think: DelayModel = field(default_factory=lambda: ExponentialDelay(20.0))  # our choice
    texts: tuple[tuple[str, float], ...] = (("gsm", 1.0),)
    broker: str = ""  # in a lab file: the fake whose MOs these are (its settings get the population)



class Population:
    """The handsets of one population and their MOs.

    Args:
        settings: the population.
        rng: its random source (arrivals, handsets, texts, replies).
        on_mo: called with each MO at its simulated time.
        seed: Faker's seed for the numbers.
    """

    def __init__(self, settings: PopulationSettings, rng: random.Random, on_mo: Callable[[Mo], None],
                 seed: int = 0) -> None:
        self.settings = settings
        self.rng = rng
        self.on_mo = on_mo
        self.numbers = make_numbers(settings.country, settings.size, seed)
        self._known = set(self.numbers)
        self._env: simpy.Environment | None = None
        self.sent = 0

    def run(self, env: simpy.Environment, until: float | None = None) -> Generator[simpy.Event, Any, None]:
        """The arrival process (``env.process(population.run(env))``); stops at ``until`` when given."""
        self._env = env
        a = self.settings.arrivals
        while until is None or env.now < until:
            gap = self.rng.expovariate(a.rate)
            if a.kind == "bursty" and a.on > 0:
                phase = env.now % (a.on + a.off)
                if phase + gap >= a.on:  # past this burst: the next starts afresh (memoryless arrivals)
                    yield env.timeout(a.on + a.off - phase)
                    continue
            yield env.timeout(gap)
            if until is not None and env.now >= until:
                return
            self._send(self.rng.choice(self.numbers))

    def mt_arrived(self, number: str) -> None:
        """A handset of this population got an MT: with the reply probability, it answers after thinking."""
        if self._env is None or number not in self._known:
            return
        if self.rng.random() < self.settings.reply_probability:
            event = self._env.timeout(max(0.0, self.settings.think.draw(self.rng)))
            event.callbacks.append(lambda _event: self._send(number))

    def _send(self, number: str) -> None:
        self.sent += 1
        self.on_mo(Mo(number, self.settings.to, draw_text(self.rng, self.settings.texts), self.settings.name))


def draw_text(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    """A text of a kind drawn from ``mix`` (kind, weight), the kind's text drawn with ``rng``."""
    kinds, cumulative = _cumulative(mix)
    return rng.choice(_TEXTS[rng.choices(kinds, cum_weights=cumulative)[0]])


@functools.lru_cache(maxsize=64)
def _cumulative(mix: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The kinds of a mix and their running weights (what ``random.choices`` sums on every call)."""
    kinds, weights = zip(*mix, strict=True)
    return kinds, tuple(itertools.accumulate(weights))


def seeded_populations(settings: Sequence[PopulationSettings], rng: random.Random,
                       on_mo: Callable[[Mo], None]) -> list[Population]:
    """The populations of a carrier network, each seeded from the network's ``rng`` in turn: the live
    fake and ``smslab simulate`` both make them here, so the same seed gives the same handsets and MOs."""
    return [Population(p, random.Random(rng.random()), on_mo, seed=rng.randrange(2**32)) for p in settings]


def make_numbers(country: str, count: int, seed: int) -> list[str]:
    """``count`` distinct E.164 numbers of the country, from Faker seeded with ``seed``."""
    locale = LOCALES.get(country)
    digits = _NATIONAL_DIGITS.get(country, 9)
    rng = random.Random(seed)
    fake = Faker(locale) if locale else None
    if fake is not None:
        fake.seed_instance(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        raw = re.sub(r"\D", "", fake.phone_number()) if fake is not None else ""
        if len(raw) >= digits:
            national = raw[-digits:]
        else:
            national = "".join(str(rng.randrange(10)) for _ in range(digits))
        number = f"+{country}{national}"
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def read_populations(data: object, path: str = "populations",
                     source: str = "") -> tuple[PopulationSettings, ...]:
    """Read the ``populations`` list; every problem at once.

    Raises:
        ConfigError: each problem with its path, value and reason.
    """
    return read_named_list(data, path, source, _population, "populations")


def _population(r: Reader) -> PopulationSettings:
    country = r.text("country", "1").lstrip("+")
    if not country.isdigit() or not 1 <= len(country) <= 3:
        r.problem("country", country, "must be a country code of 1 to 3 digits, e.g. +44")
    a = r.child("arrivals")
    kind = a.text("kind", "poisson")
    if kind not in ("poisson", "bursty"):
        a.problem("kind", kind, "must be poisson or bursty")
    arrivals = Arrivals(kind, a.number("rate", 1.0, minimum=0.0), a.number("on", 0.0, minimum=0.0),
                        a.number("off", 0.0, minimum=0.0))
    if arrivals.rate <= 0:
        a.problem("rate", arrivals.rate, "must be above 0")
    if kind == "bursty" and arrivals.on <= 0:
        a.problem("on", arrivals.on, "must be above 0 for bursty arrivals")
    a.done()
    reply = r.child("reply")
    probability = reply.number("probability", 0.0, minimum=0.0, maximum=1.0)
    think = read_delay(reply.child("think"), 20.0) if reply.has("think") else ExponentialDelay(20.0)
    reply.done()
    texts = read_texts(r.child("texts"))
    out = PopulationSettings(r.text("name", allow_empty=False), country, r.integer("size", 100, minimum=1),
                             r.text("to", allow_empty=False), arrivals, probability, think, texts,
                             r.text("broker", ""))
    r.done()
    return out


def read_texts(r: Reader) -> tuple[tuple[str, float], ...]:
    """A text mix (``{gsm: 0.7, long: 0.2, unicode: 0.1}``); problems are recorded on ``r``."""
    if not r.data:
        return PopulationSettings.texts  # no mix given: short GSM-7 texts only
    given = dict(r.data)
    mix: list[tuple[str, float]] = []
    for key, value in given.items():
        weight = r.number(str(key), minimum=0.0)
        if key not in _TEXTS:
            r.problem(str(key), value, f"must be one of {', '.join(_TEXTS)}")
        else:
            mix.append((str(key), weight))
    total = sum(w for _, w in mix)
    if abs(total - 1.0) > 1e-9:
        r.problems.add(r.path, round(total, 12), "must have weights that sum to 1")
    r.done()
    return tuple(mix)


def texts_of(kind: str) -> Sequence[str]:
    """The texts a kind draws from (for tests and docs)."""
    return _TEXTS[kind]
