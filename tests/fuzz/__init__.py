"""Fuzzing the pure core: the codec, the quality rules and the task's batch step.

``payloads`` turns arbitrary bytes into Kafka records of one partition, ``harness`` feeds
them to a :class:`~driftline.core.task.partition.PartitionTask` and checks that every record is
accounted for, ``run`` is the campaign (``make fuzz``), ``test_fuzz`` the short version the
suite runs, and ``test_found`` the defects the fuzzer found (strict xfail until fixed).
"""
