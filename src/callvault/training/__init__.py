"""The training library (§1, §3, §6): reviewed, pseudonymised clips of calls, for training."""
