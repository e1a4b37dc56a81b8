"""The assistant: understands zh-CN, en and id, checks real account state, acts, hands off."""
