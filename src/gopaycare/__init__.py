"""GoPay Care: the customer-service platform for the GoPay e-wallet."""

__version__ = "0.1.0"
