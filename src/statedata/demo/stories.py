"""The demo's data stories: two Markdown files written into the home folder's `stories/`,
in plain language, with live charts over the demo's own datasets (see `web/stories.py`).

The demo's rows are generated, so the text says what to look for and the charts' titles say
what the numbers are; no number is written into the text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DRUG_DEATHS = "Accidental Drug Related Deaths 2012-2024"
ELECTRIC = "Electric Vehicle Registrations by Town"


def _overdoses(dataset_id: str, day: dt.date) -> str:
    return f"""---
title: Who is dying of overdoses, and where
summary: Accidental drug deaths in Connecticut by year and county, and how often fentanyl was found.
author: Office of the Chief Medical Examiner
date: {day.isoformat()}
tags: health, opioids, fentanyl
---

Every accidental death from drugs in Connecticut is looked into by the Office of the Chief
Medical Examiner. Its findings are published as open data, one row for each death, with the
day, the town and county, and the drugs found. This story reads that data.

## Year by year

The chart counts the deaths recorded each year. The title says how the first year and the
last one compare.

```chart
dataset: {dataset_id}
type: line
step: year
measure: count
query: SELECT date_trunc_y(date) AS year, count(*) AS deaths
  WHERE date IS NOT NULL GROUP BY year ORDER BY year
x: Year
y: deaths
```

## Where the deaths happened

Counties with more people have more deaths, so compare these numbers with care: a county's
size explains much of its place in the list.

```chart
dataset: {dataset_id}
type: bar
measure: count
query: SELECT injury_county, count(*) AS deaths WHERE injury_county IS NOT NULL
  GROUP BY injury_county ORDER BY deaths DESC LIMIT 8
x: County
y: deaths
```

## How often fentanyl was found

Fentanyl is a strong opioid. The bar shows the share of deaths in which it was found ("yes")
and not found ("no").

```chart
dataset: {dataset_id}
type: stacked bar
measure: count
query: SELECT fentanyl, count(*) AS deaths WHERE fentanyl IS NOT NULL
  GROUP BY fentanyl ORDER BY deaths DESC
x: Fentanyl found
y: deaths
```

The [full data](/d/{dataset_id}) has every row, with more drugs and the age, sex and race of
each person. If you or someone you know needs help, call 211.
"""


def _electric(dataset_id: str, day: dt.date) -> str:
    return f"""---
title: Electric cars on Connecticut roads
summary: How many electric cars are registered, month by month, and in which counties.
author: Department of Energy and Environmental Protection
date: {day.isoformat()}
tags: transport, energy, climate
---

Each month the state counts the electric cars registered in each town: cars that run on a
battery alone, and plug-in hybrids. This story adds the towns up.

## Month by month

```chart
dataset: {dataset_id}
type: line
step: month
measure: sum
query: SELECT date_trunc_ym(month) AS month_start, sum(total_electric) AS cars
  WHERE month IS NOT NULL GROUP BY month_start ORDER BY month_start
x: Month
y: electric cars
```

## By county

Registrations counted over all the months in the data, county by county.

```chart
dataset: {dataset_id}
type: bar
measure: sum
query: SELECT county, sum(total_electric) AS cars WHERE county IS NOT NULL
  GROUP BY county ORDER BY cars DESC
x: County
y: electric car registrations
```

The [full data](/d/{dataset_id}) has each town and month, with battery and plug-in hybrid cars
counted apart.
"""


def write_stories(home: Path, entries: Sequence[Any], as_of: dt.date) -> list[Path]:
    """Write the demo's stories into `home/stories/`, leaving any file already there as it
    is (a story may have been edited). Returns the files written."""
    ids = {entry.plan.title: entry.id for entry in entries}
    folder = Path(home) / "stories"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, title, text in (
        ("overdose-deaths", DRUG_DEATHS, _overdoses),
        ("electric-cars", ELECTRIC, _electric),
    ):
        path = folder / f"{slug}.md"
        if title in ids and not path.exists():
            day = as_of - dt.timedelta(days=7 if slug == "overdose-deaths" else 21)
            path.write_text(text(ids[title], day), encoding="utf-8")
            written.append(path)
    return written
