"""`python -m harvest hex|github`: mirror Elixir source into the store and catalog."""

import sys

from harvest.cli import main

COMMANDS = {
    "hex": "harvest.hex.cli",
    "github": "harvest.github.cli",
}

if __name__ == "__main__":
    sys.exit(main("harvest", __doc__ or "", COMMANDS))
