"""Assembling and driving a lab: its control API, scenarios, the ``smslab`` CLI, the pytest plugin."""
