"""scopegate.server.pages."""
