"""The knowledge base: articles in zh-CN, en and id, versioned, voted on, searched by everyone."""
