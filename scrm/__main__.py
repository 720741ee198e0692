"""`python -m scrm` is the `scrm` command."""

from scrm.cli import main

main()
