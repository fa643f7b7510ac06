"""``isoscan isolate``: every collected test alone."""
