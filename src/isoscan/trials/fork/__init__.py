"""Fork trials: one pytest session collects once, each trial is a forked child."""
