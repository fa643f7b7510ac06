"""Process state around a polluter, one module per kind; ``snapshot`` takes and diffs them all."""
