"""Files customers send (images, documents, voice notes), stored once for every channel and the live
chat: the bytes and their sniffed type, checked against limits (docs/adr/0013-attachments.md)."""
