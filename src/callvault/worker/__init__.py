"""Background work: the job queue (SQLite embedded, Redis for many machines) and its tasks."""
