"""HTTP entry points. Routes only translate: parse, call one service function, map errors."""
