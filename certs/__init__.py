"""The lab's PKI generator and SSL negotiation experiments.

- :mod:`certs.pki`: :class:`~certs.pki.Pki`, the whole PKI in memory (``Pki.generate()``,
  ``Pki.load(dir)``, ``pki.write(dir)``) with stdlib ``ssl`` contexts for each party; ``smslab certs``.
- :mod:`certs.matrix`: ``smslab ssl-matrix``, real handshakes on loopback between the lab's parties,
  expected against actual; the cases themselves are in :mod:`certs.experiments`.

Nothing is imported here, so ``import certs.pki`` does not load pyOpenSSL.
"""

__all__: list[str] = []
