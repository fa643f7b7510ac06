"""``isoscan audit``: before a suite first runs under ``pytest -n N``, which of its tests
will break each other, through what outside resource, and what to change.

One serial run records what every test touches (``resource_map.py``); pairs of tests that can
land on different workers and share a resource one of them changes are the candidates
(``candidates.py``); each candidate pair is replayed side by side with forced overlap and a
collision is confirmed by the stated rule (``provoke.py``); the per-resource table says who
writes, reads, leaves data and collided (``table.py``).
"""
