from __future__ import annotations

import unittest

from demoapp import greeting


class TestGreeting(unittest.TestCase):
    def test_victim_default_greeting(self) -> None:
        # Expects the default style, i.e. DEMO_GREETING_STYLE unset.
        self.assertEqual(greeting.greet("ann"), "Hello, ann")

    def test_greeting_is_a_string(self) -> None:
        self.assertIsInstance(greeting.greet("ann"), str)
