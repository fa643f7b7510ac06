"""``isoscan seeds``: planned runs, the matrix, confirmation replays, verdicts."""
