"""Figures to PNG bytes."""

from __future__ import annotations

import io
import threading

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

# matplotlib is not thread-safe (its documentation says so); the bot answers on several
# threads, so figures are drawn one at a time.
_DRAWING = threading.Lock()
# Charts are a few flat colours and their anti-aliased edges: a palette of 64 colours shows
# them as the full image does, at half the bytes and half the time to encode.
PALETTE = 64


def to_png(figure: Figure) -> bytes:
    canvas = FigureCanvasAgg(figure)
    with _DRAWING:
        canvas.draw()
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1).convert("RGB")
    paletted = image.quantize(PALETTE, method=Image.Quantize.FASTOCTREE,
                              dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    paletted.save(buffer, format="png", compress_level=1,
                  dpi=(round(figure.dpi), round(figure.dpi)))
    return buffer.getvalue()
