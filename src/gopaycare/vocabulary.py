"""Words every part of the product shares, so no package borrows them from another's tables.

The service areas are the five kinds of help of the brief (账户管理, 交易问题, 退款及争议, 技术支持,
推广与活动) plus general conversation: tickets, agents' skills, knowledge-base articles and the
assistant's intents are all filed under one of them.
"""

from __future__ import annotations

SERVICE_AREAS = ("account", "transaction", "refund_dispute", "tech_support", "promotion", "general")
