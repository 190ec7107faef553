"""``python -m bot`` runs the teampuls command line."""

from bot.cli import main

main()
