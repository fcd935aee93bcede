"""DPO-granted access to recordings, with a reason for every access (§6, §8)."""
