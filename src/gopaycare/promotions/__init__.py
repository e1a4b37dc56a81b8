"""Cashback campaigns: eligibility rules, one decision per payment, credit through the wallet."""
