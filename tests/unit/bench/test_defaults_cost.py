"""benchmarks.defaults_cost runs on the task alone (no services) and reports every variant.

Speed is never asserted: only that each configuration ran on every record and that the
figures are there to read (with the pure-Python core's row when the core is compiled).
"""

from __future__ import annotations

from benchmarks.defaults_cost import PURE, VARIANTS, main
from driftline.core.compiled import recorded_digests


def test_every_variant_and_the_models_alone_are_measured(capsys) -> None:
    report = main(["--workloads", "synthetic_5k", "--samples", "300", "--repeat", "1", "--json"])
    (result,) = report["results"]
    assert result["workload"] == "synthetic_5k"
    assert result["records"] == 600  # each observation and its outcome
    expected = {*VARIANTS, "the models' own calls alone"}
    if recorded_digests():  # a compiled core: the pure-Python one beside it, in its process
        expected.add(PURE)
    assert set(result["us_per_record"]) == expected
    assert all(us > 0 for us in result["us_per_record"].values())
    assert set(result["saved_us_per_record"]) == expected - {"every default on"}
    assert '"workload": "synthetic_5k"' in capsys.readouterr().out
