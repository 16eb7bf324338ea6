"""`python -m transform extract|build|list|show|verify`: records, instruction pairs, snapshots."""

import sys

from harvest.cli import main

COMMANDS = {
    "extract": "transform.extract.cli",
    "build": "transform.snapshot.build_cli",
    "list": "transform.snapshot.list_cli",
    "show": "transform.snapshot.show_cli",
    "verify": "transform.snapshot.verify_cli",
}

if __name__ == "__main__":
    sys.exit(main("transform", __doc__ or "", COMMANDS))
