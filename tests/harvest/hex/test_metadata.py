"""metadata.config parsing: the shapes real packages use."""

import tarfile
from pathlib import Path

import pytest

from harvest.hex.errors import MetadataError
from harvest.hex.metadata import Metadata, format_metadata, parse_metadata

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hexpm"


def test_real_gleam_metadata() -> None:
    with tarfile.open(FIXTURES / "gleam_stdlib-0.14.0.tar") as tar:
        raw = tar.extractfile("metadata.config").read()  # type: ignore[union-attr]
    meta = parse_metadata(raw)
    assert meta.name == "gleam_stdlib" and meta.version == "0.14.0"
    assert meta.build_tools == ("rebar3",)
    assert meta.licenses == ("Apache 2.0",)
    assert meta.links == {"GitHub": "https://github.com/gleam-lang/stdlib"}


def test_utf8_binaries_and_escapes() -> None:
    raw = (
        '{<<"name">>,<<"caf\\303\\251">>}.\n'
        '{<<"version">>,<<"1.0.0">>}.\n'
        '{<<"description">>,<<"Crème brûlée \\"quoted\\""/utf8>>}.\n'
    ).encode()
    meta = parse_metadata(raw)
    assert meta.name == "café"  # byte-per-char binary holding UTF-8 bytes
    assert meta.description == 'Crème brûlée "quoted"'


def test_legacy_requirements_and_missing_build_tools() -> None:
    raw = b"""
    {<<"name">>,<<"old">>}.
    {<<"version">>,<<"0.1.0">>}.
    {<<"files">>,[<<"lib/old.ex">>,<<"mix.exs">>,<<"Makefile">>]}.
    {<<"requirements">>,[[{<<"name">>,<<"poison">>},{<<"app">>,<<"poison">>},
                          {<<"optional">>,false},{<<"requirement">>,<<"~> 2.0">>}]]}.
    """
    meta = parse_metadata(raw)
    assert meta.requirements == (
        {
            "name": "poison",
            "app": "poison",
            "requirement": "~> 2.0",
            "optional": False,
            "repository": None,
        },
    )
    assert meta.build_tools == ("mix", "make")


def test_keyed_requirements_maps_and_comments() -> None:
    raw = b"""% a comment
    {<<"name">>,<<"new">>}. {<<"version">>,<<"2.0.0">>}.
    {<<"requirements">>,#{<<"jason">> => #{<<"requirement">> => <<"~> 1.4">>,
                                           <<"optional">> => true}}}.
    {<<"extra">>,[{<<"nested">>,[{1,2.5},'quoted atom',"chars"]}]}.
    """
    meta = parse_metadata(raw)
    assert meta.requirements[0]["name"] == "jason" and meta.requirements[0]["optional"] is True


def test_round_trip() -> None:
    meta = Metadata(
        name="x",
        version="1.0.0",
        app="x",
        description="é",
        licenses=("MIT",),
        links={"Docs": "https://x"},
        build_tools=("mix",),
        elixir="~> 1.14",
        files=("lib/x.ex",),
        requirements=(
            {
                "name": "y",
                "app": "y",
                "requirement": ">= 0.0.0",
                "optional": False,
                "repository": None,
            },
        ),
    )
    assert parse_metadata(format_metadata(meta).encode()) == meta


@pytest.mark.parametrize("raw", [b'{<<"name">>,<<"x">>', b'{<<"version">>,<<"1">>}.', b"@@@"])
def test_broken_metadata_raises(raw: bytes) -> None:
    with pytest.raises(MetadataError):
        parse_metadata(raw)
