"""scopegate.server.endpoints."""
