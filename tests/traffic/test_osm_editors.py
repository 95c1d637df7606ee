"""`shahr import roads` reads OSM files as editors save them, and downloaded extracts."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import osmium
import pytest
from typer.testing import CliRunner

from shahr.cli import app
from shahr.traffic.domain import InvalidNetworkError
from shahr.traffic.gateways import read_osm

from .test_network import _segment_count

PAYLOADS = Path(__file__).parent / "payloads"
DOWNLOADED = PAYLOADS / "test_streets.osm"
EDITED_IN_JOSM = PAYLOADS / "josm_edited_streets.osm"


def test_roads_drawn_in_josm_are_read_with_their_negative_ids() -> None:
    specs = {s.id: s for s in read_osm(EDITED_IN_JOSM)}

    # The new lane: new nodes only, no version or timestamp; its shape node stays inside.
    lane = specs["w-25390-0f"]
    assert (lane.from_node, lane.to_node) == ("n-25380", "n-25382")
    assert len(lane.geometry) == 3
    assert lane.name == "کوچه تازه"
    assert specs["w-25390-0b"].to_node == "n-25380"
    # The boulevard is cut where the new lane leaves it, at the new node.
    assert [(specs[i].from_node, specs[i].to_node) for i in ("w101-1f", "w101-2f")] == [
        ("n2", "n-25380"),
        ("n-25380", "n11"),
    ]


def test_what_was_changed_in_the_editor_is_read_as_changed_and_deleted_roads_are_left_out() -> None:
    specs = {s.id: s for s in read_osm(EDITED_IN_JOSM)}

    assert specs["w100-0f"].lanes == 3  # widened from four lanes to six: three each way
    assert not any(s.startswith("w102") for s in specs)  # deleted, though still in the file
    assert not any(s.to_node == "n20" or s.from_node == "n20" for s in specs.values())
    assert len(specs) == 9


def test_a_binary_extract_and_a_compressed_one_read_as_the_xml_does(tmp_path: Path) -> None:
    binary = tmp_path / "streets.osm.pbf"
    with osmium.SimpleWriter(str(binary)) as writer:
        for item in osmium.FileProcessor(str(DOWNLOADED)):
            writer.add(item)
    compressed = tmp_path / "streets.osm.gz"
    with DOWNLOADED.open("rb") as plain, gzip.open(compressed, "wb") as packed:
        shutil.copyfileobj(plain, packed)

    expected = sorted(read_osm(DOWNLOADED), key=lambda s: s.id)

    assert sorted(read_osm(binary), key=lambda s: s.id) == expected
    assert sorted(read_osm(compressed), key=lambda s: s.id) == expected
    assert len(expected) == 8


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("<osmChange version='0.6'><create/></osmChange>", "it is <osmChange>, not <osm>"),
        ("<osm version='0.6'><node id='1' lat='35.7'", "unclosed token"),
        ("<osm><way id='x'><tag k='highway' v='primary'/></way></osm>", "no usable id"),
        ("", "no element found"),
    ],
)
def test_a_file_that_is_not_osm_data_is_refused_with_the_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    bad = tmp_path / "bad.osm"
    bad.write_text(content)

    with pytest.raises(InvalidNetworkError) as refused:
        read_osm(bad)

    assert reason in str(refused.value.params["reason"])


def test_shahr_import_roads_takes_a_file_saved_by_josm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    runner = CliRunner()

    imported = runner.invoke(
        app, ["import", "roads", str(EDITED_IN_JOSM)], env={"SHAHR_DATABASE_URL": url}
    )

    assert imported.exit_code == 0, imported.output
    assert "Imported 9 road segments (7 nodes) from josm_edited_streets.osm" in imported.output
    assert _segment_count(url) == 9


def test_a_broken_file_imports_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shahr.db'}"
    broken = tmp_path / "broken.osm"
    broken.write_text(EDITED_IN_JOSM.read_text(encoding="utf-8")[:3000], encoding="utf-8")

    refused = CliRunner().invoke(
        app, ["import", "roads", str(broken)], env={"SHAHR_DATABASE_URL": url}
    )

    assert refused.exit_code == 1
    assert "broken.osm: nothing was imported." in refused.output
    assert _segment_count(url) == 0
