#!/usr/bin/python3
"""scikit-learn's IsolationForest on ODDS sets with the paper's protocol, for vigil's ODDS benchmark.

Usage: odds_sklearn.py CSV... — each CSV has feature columns then `label`. Fits and scores the full set with
n_estimators=100, max_samples=256, random_state 0..9, and prints one JSON line per set:
{"set": name, "aucs": [...], "seconds": s}. Needs scikit-learn (Debian: apt-get install python3-sklearn).
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

for path in sys.argv[1:]:
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1]
    started = time.time()
    aucs = []
    for seed in range(10):
        forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(x)
        aucs.append(roc_auc_score(y, -forest.score_samples(x)))
    name = os.path.basename(path)[: -len(".csv")]
    print(json.dumps({"set": name, "aucs": aucs, "seconds": time.time() - started}), flush=True)
