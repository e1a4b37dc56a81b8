"""Refund requests: what a customer asks for, linked to a ticket, tracked to the end."""
