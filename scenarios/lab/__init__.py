"""A lab from its lab file: what it is made of (``spec``), how it is started (``assembly``, ``backends``,
``processes``), its control API (``control``, ``openapi``) and a client for that API (``client``)."""
