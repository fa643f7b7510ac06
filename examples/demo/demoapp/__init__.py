"""Tiny application package used by the isoscan demo suite.

Several modules keep state in module globals on purpose: that is where the
planted order-dependence bugs in ``tests/`` come from.
"""
