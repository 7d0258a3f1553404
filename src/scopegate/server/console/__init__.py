"""The operator console (issue 15): guards' usage reports and the pages under ``/admin``."""
