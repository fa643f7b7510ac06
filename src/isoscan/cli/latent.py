"""``isoscan seeds --track-state``: the extra state-tracking run, stored and shown."""

from __future__ import annotations

from pathlib import Path

from isoscan.execution.argv import COLLECTED, Suite
from isoscan.explain.latent import PURPOSE, track_state
from isoscan.report.terminal.explain import render_latent
from isoscan.store.db import Store


def show_latent_polluters(suite: Suite, store_dir: Path, session_id: int) -> None:
    """Run the suite once more with state tracking, store the run, list latent polluters."""
    store = Store(store_dir)
    try:
        run_id, run_dir = store.start_run(session_id, PURPOSE, COLLECTED, None, 0)
        try:
            track = track_state(suite, run_dir, exclude=[store_dir])
        except BaseException:
            store.abort_run(run_id)
            raise
        if track.run is not None:
            store.finish_run(run_id, track.run)
    finally:
        store.close()
    render_latent(track, run_dir / "latent.json")
