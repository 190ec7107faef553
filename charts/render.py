"""Figures to PNG bytes."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

# matplotlib is not thread-safe (its documentation says so); the bot answers on several
# threads, so figures are drawn one at a time.
_DRAWING = threading.Lock()
# Charts are a few flat colours and their anti-aliased edges: a palette of 64 colours shows
# them as the full image does, at half the bytes and half the time to encode.
PALETTE = 64
# A canvas per figure size is kept and drawn on again: matplotlib caches the measures of texts
# per renderer, and charts repeat most of theirs (week labels, scales, legends).
_CANVASES: OrderedDict[tuple, FigureCanvasAgg] = OrderedDict()
CANVASES = 4


def to_png(figure: Figure) -> bytes:
    with _DRAWING:
        canvas = _canvas(figure)
        try:
            canvas.draw()
            image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                                     "raw", "RGBA", 0, 1).convert("RGB")
        finally:
            canvas.figure = None  # the kept canvas does not keep the figure alive
    paletted = image.quantize(PALETTE, method=Image.Quantize.FASTOCTREE,
                              dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    paletted.save(buffer, format="png", compress_level=1,
                  dpi=(round(figure.dpi), round(figure.dpi)))
    return buffer.getvalue()


def _canvas(figure: Figure) -> FigureCanvasAgg:
    size = (*figure.get_size_inches().round(4), figure.dpi)
    canvas = _CANVASES.pop(size, None)
    if canvas is None:
        canvas = FigureCanvasAgg(figure)
    else:
        canvas.figure = figure
        figure.set_canvas(canvas)
    _CANVASES[size] = canvas
    while len(_CANVASES) > CANVASES:
        _CANVASES.popitem(last=False)
    return canvas
