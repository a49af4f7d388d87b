"""Genesys Multicloud CX Digital Channels ("Nexus"), simulated: provisioning, sender ids, SMS both ways.

"The guide" in this package is "Setting up Integration for Inbound and Outbound SMS" (Digital Channels
Private Edition Guide, all.docs.genesys.com/PEC-DC/Current/DCPEGuide/ProvisionSMS): its three options
(Kaleyra, a custom gateway through the Third-Party Messaging API, Genesys Cloud SMS aggregation), its
provisioning curl commands and its ``NexusServices`` sender sections.

Modules, bottom up: ``errors`` (the ``{"status": {"code", "message"}}`` envelope), ``wire`` (requests,
JSON with line and column, Basic), ``keys`` (API keys), ``services`` (the five services' bodies),
``senders`` (``chat.<name>`` sections), ``interactions`` (chats and delivery states), ``settings`` (the
``nexus:`` lab section), ``model`` (the sans-IO server), ``providers`` (sending, the I/O half),
``server`` (the aiohttp shell and its ``/_smslab/`` routes), ``serve`` (``smslab serve nexus``).
"""
