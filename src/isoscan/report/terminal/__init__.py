"""Terminal renderers on the one rich Console."""
