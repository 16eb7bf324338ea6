"""`python -m train qlora|plan|merge|export|eval`: fine-tune, size, merge, serve, score."""

import sys

from harvest.cli import main

COMMANDS = {
    "qlora": "train.qlora_cli",
    "plan": "train.plan_cli",
    "merge": "train.merge_cli",
    "export": "train.export_cli",
    "eval": "train.eval_cli",
}

if __name__ == "__main__":
    sys.exit(main("train", __doc__ or "", COMMANDS))
