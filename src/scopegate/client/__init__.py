"""scopegate.client."""
