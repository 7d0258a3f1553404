"""Every server option (pydantic-settings) and its start-up checks.
"""
