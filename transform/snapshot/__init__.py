"""Versioned dataset snapshots: build, list, show and verify `datasets/<version>/`."""
