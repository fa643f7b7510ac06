"""``isoscan seeds --track-state``: the extra state-tracking run, stored and shown."""

from __future__ import annotations

from pathlib import Path

from isoscan.execution.argv import Suite
from isoscan.explain.latent import StateTrack, track_state
from isoscan.model.status import OrderingKind, RunPurpose
from isoscan.report.terminal.explain import render_latent
from isoscan.store.db import Store


def show_latent_polluters(suite: Suite, store_dir: Path, session_id: int) -> StateTrack:
    """Run the suite once more with state tracking, store the run, list latent polluters."""
    store = Store(store_dir)
    try:
        with store.recording_run(session_id, RunPurpose.TRACK_STATE,
                                 OrderingKind.COLLECTED) as run:
            track = track_state(suite, run.dir, exclude=[store_dir])
            if track.run is not None:
                run.finish(track.run)
    finally:
        store.close()
    render_latent(track, run.dir / "latent.json")
    return track
