"""Payment providers' callbacks: a provider's word that a pending payment or top-up settled or failed."""
