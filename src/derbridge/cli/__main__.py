"""`python -m derbridge.cli`: the derbridge command."""

from derbridge.cli import app

app()
