"""The scopegate command line."""
