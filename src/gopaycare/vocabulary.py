"""Words every part of the product shares, so no package borrows them from another's tables.

The service areas are the five kinds of help of the brief (账户管理, 交易问题, 退款及争议, 技术支持,
推广与活动) plus general conversation: tickets, agents' skills, knowledge-base articles and the
assistant's intents are all filed under one of them.
"""

from __future__ import annotations

SERVICE_AREAS = ("account", "transaction", "refund_dispute", "tech_support", "promotion", "general")

# The thread of a conversation on a public comment (a Facebook page's or an Instagram post's): what
# is posted there as public is read by everyone, so the desk refuses personal data in it, and a
# reply that is not public goes privately to the commenter (channels/comments.py).
COMMENT_THREAD_PREFIX = "comment:"
