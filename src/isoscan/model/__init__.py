"""The small shared model: test outcomes, verdicts, the seeds report."""
