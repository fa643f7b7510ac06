"""Generic searches over orders of tests, shared by bisect, the parallel-only search and the
import-time check: they know nothing of pytest, only of a predicate on a list of ids."""
