"""'Use this in code': calls of a dataset from curl, Python (sodapy and pandas) and R
(RSocrata), written for this portal's own address so they work as shown."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Snippet:
    language: str
    label: str
    code: str
    note: str


def snippets(base_url: str, dataset_id: str) -> list[Snippet]:
    """The three snippets for the dataset `dataset_id` of the portal at `base_url`."""
    parts = urlsplit(base_url)
    domain = parts.netloc
    resource = f"{base_url}/resource/{dataset_id}.json"
    # sodapy speaks https unless told otherwise; a portal on plain http (a laptop, a test)
    # needs the one extra line.
    http_line = 'client.uri_prefix = "http://"\n' if parts.scheme == "http" else ""
    python = (
        "import pandas as pd\n"
        "from sodapy import Socrata\n\n"
        f'client = Socrata("{domain}", None)\n'
        f"{http_line}"
        f'rows = client.get("{dataset_id}", limit=5000)\n'
        "df = pd.DataFrame.from_records(rows)\n"
        "print(df.head())\n"
    )
    r = f'library("RSocrata")\n\ndf <- read.socrata("{resource}")\nhead(df)\n'
    curl = f"curl '{resource}?$limit=5'\n"
    return [
        Snippet(
            "shell",
            "curl",
            curl,
            "The first 5 rows as JSON. Add $where, $order or $select to ask for "
            "other rows (SoQL, as on any Socrata portal).",
        ),
        Snippet(
            "python",
            "Python",
            python,
            "Needs the sodapy and pandas packages (pip install sodapy pandas).",
        ),
        Snippet(
            "r",
            "R",
            r,
            'Needs the RSocrata package (install.packages("RSocrata")). It reads every row, '
            "a page at a time.",
        ),
    ]
