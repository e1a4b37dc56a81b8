"""Paying with the customer's PIN: identity checks the PIN, the wallet moves the money."""
