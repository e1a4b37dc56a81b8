"""Channel adapters: one module per provider, each a sender registered in the outbox (and, with the
channels work, its inbound webhook or listener). The desk and the assistant never import them."""
