"""The simulated parts of the lab: the SMS core, the CIC pair, the proxy, the carrier model, Nexus."""
