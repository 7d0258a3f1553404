"""scopegate.guard."""
