"""onnxruntime, offline: the one place it is imported and the one place sessions are made.

The app promises no network at run time, but onnxruntime 1.2x-1.3x on Linux and
macOS starts Microsoft's 1DS telemetry when it is *imported*: it writes a device id
and a SQLite queue of events under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/
(or $XDG_CACHE_HOME/...) and, some seconds later, an uploader thread looks up
mobile.events.data.microsoft.com. `disable_telemetry_events()` only stops events
logged after it is called; the uploader and its files are already there by then.
ORT_DISABLE_TELEMETRY=1 in the environment before the import stops all of it, so it
is set here (a user's "0" is overridden: the promise holds either way) and every
other module takes onnxruntime from this one. Child processes inherit the setting.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

if "onnxruntime" in sys.modules:  # someone imported it first: its telemetry is already running
    logging.getLogger(__name__).warning(
        "onnxruntime was imported before Embedding Explorer could switch its telemetry off")
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import onnxruntime as ort  # noqa: E402  (must follow the setting above)
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state  # noqa: E402

Session = ort.InferenceSession
# What a session raises when the graph fails on its inputs (a text longer than its table of
# positions, say): the encoders turn it into a message naming the model and the fix.
RUN_ERRORS: tuple[type[Exception], ...] = (ort_state.Fail, ort_state.InvalidArgument,
                                           ort_state.RuntimeException)


def run_error(exc: Exception) -> str:
    """onnxruntime's message, cut to what a user can read in one line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def open_session(model_file: Path, threads: int, *, optimise: bool = True) -> Session:
    """A CPU session on `model_file`; `optimise=False` when only the graph's signature is read.

    Telemetry events are switched off first, so no session ever logs one.
    """
    ort.disable_telemetry_events()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise
                                        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
