"""scopegate.ratelimit."""
