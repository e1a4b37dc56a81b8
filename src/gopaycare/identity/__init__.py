"""Customer identity and account security: login, lock and freeze, one-time codes, recovery."""
