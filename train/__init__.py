"""QLoRA fine-tuning on a snapshot, with evaluation, merge and export."""
