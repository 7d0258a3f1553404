"""scopegate.guard.adapters."""
