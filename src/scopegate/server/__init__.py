"""scopegate.server."""
