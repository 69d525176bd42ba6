"""`quay`: the command line client of Quayside. It talks HTTP to the API and imports nothing of
the server (an import-linter contract in pyproject.toml says so). docs/cli.md is its manual."""

__version__ = "0.1.0"
