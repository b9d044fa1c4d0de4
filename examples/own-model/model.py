"""Your model: a River estimator, made by a factory.

``driftline consume --model model:make`` and ``driftline.run_worker(make, ...)`` call
``make()`` once per partition (and per challenger), so each learns on its own copy. An
estimator object would do too (``--model model:MODEL``: each copy is a clone of it).
"""

from __future__ import annotations

from river import compose, linear_model, optim, preprocessing

__all__ = ["MODEL", "make"]


def make() -> compose.Pipeline:
    """Scale the features, then a logistic regression with a slower learning rate than
    River's default (the features are ratios, near one another)."""
    return compose.Pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(optimizer=optim.SGD(0.05)),
    )


#: The same model as an object, for ``--model model:MODEL``.
MODEL = make()
