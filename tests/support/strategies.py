"""Hypothesis strategies shared by the test modules (one place, as attrs keeps them)."""

from __future__ import annotations

from hypothesis import strategies as st

from sim.core import gsm
from sim.core.interactions import Interaction, InteractionState
from sim.core.routing import Destination, DestinationKind
from sim.core.segmentation import Encoding, choose_encoding

GSM_BASIC = sorted(gsm.BASIC)
GSM_EXTENSION = sorted(gsm.EXTENSION)

def _sized(alphabet: st.SearchStrategy[str], longest: int) -> st.SearchStrategy[str]:
    """Texts of ``alphabet`` whose length is drawn evenly from 0 to ``longest``: left to itself, Hypothesis
    draws short texts, and a segmentation property over texts that never split tests nothing (issue 19)."""
    return st.integers(0, longest).flatmap(lambda n: st.lists(alphabet, min_size=n, max_size=n).map("".join))


gsm_basic_text = _sized(st.sampled_from(GSM_BASIC), 700)
"""Texts of one-septet characters only: up to 700, five parts of 153."""

gsm_text = _sized(st.sampled_from(GSM_BASIC + GSM_EXTENSION), 700)
"""GSM-7 texts that may contain extension characters (two septets each)."""

astral = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
bmp_non_gsm = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)  # Cyrillic: forces UCS-2

ucs2_text = _sized(st.one_of(st.sampled_from(GSM_BASIC), bmp_non_gsm, astral), 400).filter(
    lambda t: t != "" and choose_encoding(t) is Encoding.UCS2)
"""Texts that need UCS-2, with surrogate pairs (astral emoji) mixed in: up to 800 units, 12 parts."""

any_text = st.one_of(gsm_text, ucs2_text, _sized(st.characters(exclude_categories=("Cs",)), 300))
"""Any text without unpaired surrogates."""

digits = st.text(alphabet="0123456789", min_size=1, max_size=15)


CUSTOMERS = ("+13175550101", "+13175550102", "+13175550103")


@st.composite
def interaction_lists(draw: st.DrawFn, max_size: int = 30) -> list[Interaction]:
    """Interactions with distinct ids, oldest first as a core lists them; few customers and instants, so
    filters select some and creation times tie."""
    ids = draw(st.lists(st.text(alphabet="0123456789abcdef", min_size=1, max_size=4), unique=True,
                        max_size=max_size))
    out = []
    for interaction_id in ids:
        created = draw(st.integers(0, 5))
        out.append(Interaction(interaction_id, draw(st.sampled_from(CUSTOMERS)), "8005550100", "kaleyra",
                               Destination(DestinationKind.QUEUE, "Support"),
                               draw(st.sampled_from(list(InteractionState))), float(created),
                               float(created + draw(st.integers(0, 5)))))
    return sorted(out, key=lambda i: (i.created_at, i.id))
"""Interactions as ``SmsCore.interactions()`` answers them (oldest first by ``(created_at, id)``)."""
