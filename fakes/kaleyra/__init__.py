"""The Kaleyra / mGage DirectTEXT fake broker: ``create`` is its registry factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.kaleyra.fake import HTTP_API_PATH, XML_API_PATHS, KaleyraFake
from fakes.kaleyra.settings import KALEYRA_RETRY, KaleyraSettings, read_settings

__all__ = ["HTTP_API_PATH", "KALEYRA_RETRY", "XML_API_PATHS", "KaleyraFake", "KaleyraSettings", "create",
           "read_settings"]


def create(name: str, settings_mapping: Mapping[str, Any], path: str) -> KaleyraFake:
    """Build a Kaleyra fake from its settings mapping (the registry's factory signature).

    Raises:
        ConfigError: every problem in the mapping, each with its path under ``path``.
    """
    return KaleyraFake(name, read_settings(settings_mapping, path))
