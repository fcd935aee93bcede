"""The web interface for the DPO, managers, agents and the IT team."""
