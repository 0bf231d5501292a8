"""`python -m gazo`."""

from gazo.cli.main import main

main()
