"""scopegate.tokens."""
