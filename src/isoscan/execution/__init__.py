"""Running pytest: argv, processes, the run runner, JUnit and event records."""
