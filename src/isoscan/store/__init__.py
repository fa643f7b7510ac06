"""The SQLite store of sessions, runs, results and verdicts, and what is read from it."""
