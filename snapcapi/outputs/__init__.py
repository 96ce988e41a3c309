"""Outputs: the per-row report, the rejects file, the human and `--json` summaries, written atomically."""
