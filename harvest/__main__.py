"""`python -m harvest hex|github`: mirror Elixir source into the store and catalog."""

import sys

COMMANDS = {
    "hex": "harvest.hex.cli",
    "github": "harvest.github.cli",
}

if __name__ == "__main__":
    # Imported here, not above: unpack worker processes (anyio.to_process) run this file as
    # __mp_main__, and they must not load DuckDB, pydantic and the rest of the command line.
    from harvest.cli import main

    sys.exit(main("harvest", __doc__ or "", COMMANDS))
