"""Deterministic demo data: named customers for every support situation, and bulk customers."""
