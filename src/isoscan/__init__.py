"""isoscan: find order-dependent and parallel-dependent tests in pytest suites."""

__version__ = "0.1.0"
