"""Figures to PNG bytes."""

from __future__ import annotations

import io
import threading

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# matplotlib is not thread-safe (its documentation says so); the bot answers on several
# threads, so figures are drawn one at a time.
_DRAWING = threading.Lock()


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with _DRAWING:
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
