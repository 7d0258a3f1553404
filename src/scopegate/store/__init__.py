"""scopegate.store."""
