"""Running the server: logs, metrics, the maintenance pass, and answers during an outage.
"""
