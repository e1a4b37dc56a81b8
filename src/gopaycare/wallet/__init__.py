"""The reference wallet: a double-entry, append-only ledger with KYC-tier limits.

`port.WalletBackend` is the interface the rest of GoPay Care talks to; `service.ReferenceWallet`
implements it on our own database. An operator replaces it with an adapter to their core system.
"""
