"""Turns harvested Elixir source into records, instruction pairs and versioned snapshots."""
