"""Request bodies and answers of the HTTP API, one module per part of it.

Bodies derive from `In` (no NUL characters anywhere in them), answers from `Out` (exactly the
fields listed, strictly typed), so `/docs` shows every shape and a schema checker can hold the
API to it.
"""
