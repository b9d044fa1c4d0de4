"""Publish this example's orders and their outcomes into the namespace's events topic,
with ``driftline.publish``: Kafka is ``DRIFTLINE_KAFKA_BOOTSTRAP``, else the local stack.

    python publish.py
"""

from __future__ import annotations

from orders import events

import driftline

if __name__ == "__main__":
    print(f"published {driftline.publish(events())} events")
