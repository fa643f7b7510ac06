"""Trials: an exact ordered list of tests run once, in a subprocess or a fork."""
