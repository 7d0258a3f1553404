"""The management API (``/api/v1/``): API keys, the public catalog, its OpenAPI document.
"""
