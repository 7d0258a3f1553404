"""scopegate.server.shared."""
