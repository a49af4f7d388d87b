"""A node's role in its pair and the faults injected in process (issue 4 §6)."""

from __future__ import annotations

from enum import Enum

__all__ = ["NodeFault", "Role"]


class Role(Enum):
    """What the node is in its pair: ACTIVE serves, BACKUP answers per ``backup_answer``, DOWN is dead."""

    ACTIVE = "active"
    BACKUP = "backup"
    DOWN = "down"


class NodeFault(Enum):
    """A fault injected in process: hang, slow, partition, crash while handling an MO, or none."""

    NONE = "none"
    HANG = "hang"
    SLOW = "slow"
    PARTITION = "partition"
    CRASH_ON_MO = "crash-on-mo"
