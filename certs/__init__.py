"""The lab's PKI generator and SSL negotiation experiments.

- :mod:`certs.pki`: :class:`~certs.pki.Pki`, the whole PKI in memory (``Pki.generate()``,
  ``Pki.load(dir)``, ``pki.write(dir)``) with stdlib ``ssl`` contexts for each party; :mod:`certs.cli`
  is ``smslab certs``.
- :mod:`certs.matrix`: real handshakes on loopback between the lab's parties, expected against actual
  (``smslab ssl-matrix``, with the proxy's cases added by ``scenarios.cli.ssl_matrix``); the cases are
  in :mod:`certs.experiments`.

Nothing is imported here, so ``import certs.pki`` does not load pyOpenSSL.
"""

__all__: list[str] = []
