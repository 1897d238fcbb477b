"""The demo portal: a generated, deterministic state portal shaped like data.ct.gov, built
into an installation by `build_demo` (what `statedata demo` and `make demo` run).

Agencies and town names are real; dataset rows are generated and say so in their descriptions.
"""

from statedata.demo.build import DemoSummary, build_demo, dataset_id_for, demo_is_built

__all__ = ["DemoSummary", "build_demo", "dataset_id_for", "demo_is_built"]
