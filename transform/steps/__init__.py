"""Pure build steps: filters with counted outcomes, dedup, decontamination, tasks, splits."""
