"""Operational metrics in Prometheus format (§8: IT sees deletion, transfers and jobs keep up)."""
