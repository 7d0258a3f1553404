"""scopegate.server.grants."""
