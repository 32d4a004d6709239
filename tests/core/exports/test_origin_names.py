"""Who made a label is `origin` (ground_truth / annotator / proposal) in every
export; the JSON and COCO exports also write the pre-rename `source` /
`source_detail` keys with the old values (dataset / annotator / proposer) for
readers of older exports, and the CSV header carries only the new names."""

import csv
import io
import json

import numpy as np
import pytest

from workers.core.exports import write_export
from workers.core.label_rows import ORIGINS, InvalidRow, LabelRow, deprecated_source

from .factories import META

# "consensus" (issue 14) is newer than the rename: its deprecated "source" is the same word
OLD = {"ground_truth": "dataset", "annotator": "annotator", "proposal": "proposer", "consensus": "consensus"}


def rows():
    return [
        LabelRow(
            "img.jpg",
            i,
            np.eye(3),
            np.array([0.0, 0.0, 600.0]),
            origin,
            f"{origin}-who",
            image_id=1,
            face_id=i + 1,
            width=64,
            height=64,
            provenance={"origin": origin, "n": i},
        )
        for i, origin in enumerate(ORIGINS)
    ]


def written(fmt):
    out = io.BytesIO()
    write_export(fmt, rows(), out, META)
    return out.getvalue().decode()


def test_the_origins_and_their_old_names():
    assert set(ORIGINS) == set(OLD) and all(deprecated_source(o) == OLD[o] for o in ORIGINS)
    assert deprecated_source("something else") == "something else"


@pytest.mark.parametrize("fmt, items", [("json", lambda doc: doc["faces"]), ("coco", lambda doc: doc["annotations"])])
def test_json_and_coco_write_origin_and_the_deprecated_source(fmt, items):
    got = items(json.loads(written(fmt)))
    assert [x["origin"] for x in got] == list(ORIGINS)
    for x in got:
        assert x["origin_detail"] == x["source_detail"] == f"{x['origin']}-who"
        assert x["source"] == OLD[x["origin"]]
        assert x["provenance"] == {"origin": x["origin"], "n": x["face_index"], "source": OLD[x["origin"]]}


def test_a_provenance_that_already_names_its_source_is_left_alone():
    row = rows()[0]
    row.provenance = {"origin": "ground_truth", "source": "kept as given"}
    out = io.BytesIO()
    write_export("json", [row], out, META)
    assert json.loads(out.getvalue())["faces"][0]["provenance"]["source"] == "kept as given"


def test_csv_has_only_the_new_columns():
    lines = list(csv.DictReader(io.StringIO(written("csv"))))
    assert [(x["origin"], x["origin_detail"]) for x in lines] == [(o, f"{o}-who") for o in ORIGINS]
    assert "source" not in lines[0] and "source_detail" not in lines[0]


def test_an_invalid_row_names_its_origin_and_the_deprecated_source():
    d = InvalidRow("img.jpg", 0, 7, "proposal", "p@1", "t is behind the camera").to_dict()
    assert (d["origin"], d["origin_detail"], d["source"], d["source_detail"]) == ("proposal", "p@1", "proposer", "p@1")
