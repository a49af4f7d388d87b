"""The locustfiles ``smslab load`` runs, by name (``smslab load mo_push``), or any locustfile by path.

Only the names live here: this package's ``__init__`` imports nothing of Locust, so the harness can find a
locustfile without importing it (``mo_push.py`` and the others import Locust, and run only inside Locust's
own processes).
"""

from __future__ import annotations

from pathlib import Path

from sim.core.errors import InputError

__all__ = ["HERE", "NAMES", "locustfile"]

HERE = Path(__file__).resolve().parent

#: name -> (file beside this module, what it loads).
NAMES: dict[str, tuple[str, str]] = {
    "mo_push": ("mo_push.py", "brokers push MOs in their own wire formats to the proxy before the pair"),
    "agent_mt": ("agent_mt.py", "agents send MTs through the active node, DLRs timed (DLR <broker>)"),
    "conversation": ("conversation.py", "MO in, an agent reply out, another MO: Faker texts of each coding"),
    "fake_mt": ("fake_mt.py", "a CIC node's MT requests straight to the fake Kaleyra's MT API"),
}


def locustfile(target: str) -> Path:
    """The locustfile a name (``NAMES``) or a path names.

    Raises:
        InputError: neither a known name nor an existing ``.py`` file.
    """
    if target in NAMES:
        return HERE / NAMES[target][0]
    path = Path(target)
    if path.suffix == ".py" and path.is_file():
        return path.resolve()
    raise InputError(f"unknown locustfile {target!r}: give one of {', '.join(NAMES)} or the path of a .py "
                     "locustfile")
