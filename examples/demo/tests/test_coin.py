from __future__ import annotations

import os


def test_nondeterministic_coin_flip() -> None:
    # os.urandom, not random: pytest-randomly reseeds `random` per test, which
    # would make a random.random() coin flip deterministic for a given seed.
    assert os.urandom(1)[0] < 128
