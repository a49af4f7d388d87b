"""The Kaleyra / mGage DirectTEXT fake broker; ``create`` is its registry factory (kind ``kaleyra``).

What it serves (``fake.py``, the REST mode in ``rest.py``):

* MT: ``GET|POST /a2w_preRouter/httpApiRouter`` with the DirectTEXT parameters in the query string or a
  form body (``recipient``, repeated or comma-joined, ``body``, ``reply_to``, ``channel``, the
  ``reporting_key`` fields) and Basic auth; the answer is an ``<httpApiResponse>`` document whose
  ``<code>`` 100 means accepted, any other code a refusal (the code table is the ``codes`` setting).
* The older XML API: ``POST /a2w_preRouter/xmlApiRouter`` and ``/a2w_preRouter/a2w_xmlApiRouter`` (public
  clients use both paths, so both are served; ``xml_api: false`` turns them off).
* The REST v1 mode: ``POST /v1/{sid}/messages`` and ``/v1/{sid}/sms`` with an ``api-key`` header, JSON
  answers and callbacks (the ``rest`` settings).
* Pushes to the CIC side: each MO (``POST /_smslab/mo``) and each DR (after the DLR delay) is a form POST to
  the lab's MO/DR URL, retried every 60 s for 48 h on failure (``KALEYRA_RETRY``, the MMX router's
  documented default).
* The shared inspection API under ``/_smslab/`` and the shared fault hook (``fakes.common``).

Every setting, its default and where the default comes from is listed in the docstring of
``fakes/kaleyra/settings.py``; the settings every fake shares (seed, capture limit, DLR outcomes and delays,
faults, TLS, push URLs) are in ``fakes/common/settings.py``.
"""

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
