"""`python -m harvest hex|github`: mirror Elixir source into the store and catalog."""

import sys

COMMANDS = {
    "hex": "harvest.hex.cli",
    "github": "harvest.github.cli",
}

if __name__ == "__main__":
    # Imported here, not above: nothing else should pay for DuckDB, pydantic and the rest of
    # the command line when this file is imported rather than run.
    from harvest.cli import main

    sys.exit(main("harvest", __doc__ or "", COMMANDS))
