"""Natural-language understanding for the assistant: language, intents and entities.

    nlu = load_product_nlu(cache_dir)          # trained on assistant/data/train, cached by fingerprint
    parse = nlu.parse("saldo saya belum masuk")
    parse.intent.name, parse.intent.confidence, parse.lang, parse.entities
    parse.as_rasa()                            # the shape of Rasa's /model/parse answer

`NLU.train(examples, out_dir)` learns from (text, intent) examples or a data path (CSV text,category or
the project's YAML), `NLU.load(model_dir)` reads a saved model. Below the model's calibrated threshold
(stored with it) the intent is "nlu_fallback", with the real candidates still in the ranking.
See `engine` for the design.
"""

from __future__ import annotations

from .data import OOS_LABEL, Example, NLUDataError, load_examples
from .engine import ENGINE_VERSION, PRESETS, EngineConfig
from .model import NLU, NLUModelError
from .product import default_cache_dir, load_product_nlu
from .types import FALLBACK_INTENT, Entity, Intent, Parse

__all__ = [
    "ENGINE_VERSION", "FALLBACK_INTENT", "NLU", "OOS_LABEL", "PRESETS", "Entity", "EngineConfig", "Example",
    "Intent", "NLUDataError", "NLUModelError", "Parse", "default_cache_dir", "load_examples", "load_product_nlu",
]
