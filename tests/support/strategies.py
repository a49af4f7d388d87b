"""Hypothesis strategies shared by the test modules (one place, as attrs keeps them)."""

from __future__ import annotations

from hypothesis import strategies as st

from sim.core import gsm
from sim.core.interactions import Interaction, InteractionState
from sim.core.routing import Destination, DestinationKind

GSM_BASIC = sorted(gsm.BASIC)
GSM_EXTENSION = sorted(gsm.EXTENSION)

gsm_basic_text = st.text(alphabet=GSM_BASIC, max_size=700)
"""Texts of one-septet characters only."""

gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
"""GSM-7 texts that may contain extension characters (two septets each)."""

astral = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
bmp_non_gsm = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)  # Cyrillic: forces UCS-2

ucs2_text = st.lists(st.one_of(st.sampled_from(GSM_BASIC), bmp_non_gsm, astral), min_size=1,
                     max_size=400).map("".join)
"""Texts that need UCS-2, with surrogate pairs (astral emoji) mixed in."""

any_text = st.one_of(gsm_text, ucs2_text, st.text(max_size=300).filter(
    lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
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
