"""Import-time dependences: a test run alone in its own module, as a user runs it, and the
fewest other test modules whose collection beside it breaks it."""
