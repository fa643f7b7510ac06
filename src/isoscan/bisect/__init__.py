"""``isoscan bisect``: from a failing order to the minimal verified polluter set."""
