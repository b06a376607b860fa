#!/usr/bin/env python3
"""scikit-learn peers for vigil's external-data benchmark (test/bench/external.bench.ts).

Usage: external_sklearn.py JOBS.json — JOBS.json is a list of jobs written by the bench:
  {"id": str, "cols": d, "train": {"path", "rows"}, "test": {"path", "rows"}, "labels": path or null,
   "models": ["iforest" or "mlp_autoencoder"], "seeds": [0, 1, ...], "out": dir}
Matrices are row-major little-endian float64, labels uint8. Each model gets exactly the rows vigil's model of the
same kind gets (the bench builds them once: robust-scaled for the forest, scaled and clipped for the autoencoder). For each job, model and seed the scores of the test rows
(higher = more anomalous) go to OUT/<id>__<model>__<seed>.f64 and one JSON line is printed:
  {"id", "model", "seed", "seconds", "auc"}  (auc: sklearn.metrics.roc_auc_score when labels are given, else null)

- iforest: sklearn.ensemble.IsolationForest(n_estimators=100, max_samples=256, random_state=seed), score
  -score_samples (the paper's 2^(-E[h]/c(psi)), in (0, 1)).
- mlp_autoencoder: sklearn.neural_network.MLPRegressor trained to reproduce its input through layers
  ceil(d/2), ceil(d/4), ceil(d/2) (relu: scikit-learn has no ELU), adam, learning rate 0.001, batch 256, at most 40
  epochs, early stopping on a 10 % validation split with patience 5 — vigil's autoencoder settings as far as
  scikit-learn has them. Score: mean squared reconstruction error of a row.
Needs scikit-learn (pip install --break-system-packages scikit-learn, or apt-get install python3-sklearn).
"""
import json
import math
import os
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def matrix(spec, cols):
    return np.fromfile(spec["path"], dtype="<f8").reshape(spec["rows"], cols)


def run(model, seed, train, test):
    if model == "iforest":
        forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(train)
        return -forest.score_samples(test)
    if model == "mlp_autoencoder":
        d = train.shape[1]
        hidden = (max(2, math.ceil(d / 2)), max(2, math.ceil(d / 4)), max(2, math.ceil(d / 2)))
        net = MLPRegressor(
            hidden_layer_sizes=hidden,
            activation="relu",
            solver="adam",
            learning_rate_init=0.001,
            batch_size=256,
            max_iter=40,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=5,
            tol=1e-7,
            random_state=seed,
        ).fit(train, train)
        return np.mean((net.predict(test) - test) ** 2, axis=1)
    raise ValueError(f"unknown model {model}")


with open(sys.argv[1]) as f:
    jobs = json.load(f)
for job in jobs:
    train = matrix(job["train"], job["cols"])
    test = matrix(job["test"], job["cols"])
    labels = np.fromfile(job["labels"], dtype=np.uint8) if job.get("labels") else None
    for model in job["models"]:
        for seed in job["seeds"]:
            started = time.time()
            scores = np.asarray(run(model, seed, train, test), dtype="<f8")
            seconds = time.time() - started
            scores.tofile(os.path.join(job["out"], f"{job['id']}__{model}__{seed}.f64"))
            auc = float(roc_auc_score(labels, scores)) if labels is not None else None
            print(json.dumps({"id": job["id"], "model": model, "seed": seed, "seconds": seconds, "auc": auc}), flush=True)
