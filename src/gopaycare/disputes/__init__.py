"""Disputes: a customer contests a payment (not theirs, not delivered, not as described)."""
