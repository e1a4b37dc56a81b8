"""Natural-language understanding for the assistant: language, intents and entities."""
