"""``isoscan explain``: process-state snapshots, ranked changes, fix hints."""
