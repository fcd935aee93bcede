"""Measurements of callvault (not tests): run each as `python -m benchmarks.<name>`."""
