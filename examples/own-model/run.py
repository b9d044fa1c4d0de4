"""The whole example from Python: publish the orders, then run a worker with your model
and your feature function until the stream is idle for 5 s, and print its figures.

    python run.py

The same as ``python publish.py`` then ``driftline consume --model model:make --features
feats:features --until-idle 5``. Kafka and Redis: ``DRIFTLINE_KAFKA_BOOTSTRAP`` and
``DRIFTLINE_REDIS_URL`` (and ``DRIFTLINE_NAMESPACE``) when set, else the local stack.
"""

from __future__ import annotations

import json

from feats import features
from model import make
from orders import events

import driftline

if __name__ == "__main__":
    published = driftline.publish(events())
    figures = driftline.run_worker(make, features, until_idle_s=5)
    print(json.dumps({"published": published} | figures, default=str))
