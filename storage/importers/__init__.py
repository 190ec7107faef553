"""Importers of the back office's exports (data contract, section 1).

``contract`` holds the columns and aliases, ``reading`` reads CSV and XLSX files, ``validation``
checks and converts rows, ``loading`` writes them by the replacement rules, and ``runner``
ties these together in one all-or-nothing import.
"""
