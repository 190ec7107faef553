"""Pure functions from data to a matplotlib Figure (the Figure API, never pyplot); ``to_png``
in ``charts.render`` turns one into an image."""
