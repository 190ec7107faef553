"""The numbers of teampuls: KPI definitions, benchmarks, drift and forecasts.

Pure functions over pandas and numpy; nothing here reads files, the database or the clock.
"""
