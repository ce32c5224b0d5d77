import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipcbench.sizes import MAX_SIZE, format_size, parse_size, parse_sizes


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64", 64),
        ("64B", 64),
        ("4KiB", 4096),
        ("1MiB", 1 << 20),
        ("16MiB", 16 << 20),
        (" 128MiB ", 128 << 20),
        ("1000", 1000),
    ],
)
def test_parses_the_documented_spellings(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "0",
        "0KiB",
        "1e99",
        "12XB",
        "4kb",
        "4 KB",
        "1.5MiB",
        "2GiB",
        "KiB",
        "99999999999999",
        "64,",
        "nan",
    ],
)
def test_rejects_bad_sizes_with_a_reason(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (64, "64B"),
        (4096, "4KiB"),
        (65536, "64KiB"),
        (1 << 20, "1MiB"),
        (1000, "1000B"),
        (1536, "1536B"),
    ],
)
def test_formats_with_the_largest_exact_unit(size, text):
    assert format_size(size) == text


@given(st.integers(min_value=1, max_value=MAX_SIZE))
def test_format_and_parse_round_trip(size):
    assert parse_size(format_size(size)) == size


@given(st.text(max_size=20))
def test_parse_never_fails_with_anything_but_value_error(text):
    try:
        size = parse_size(text)
    except ValueError:
        return
    assert 1 <= size <= MAX_SIZE


def test_size_lists_keep_order_and_drop_duplicates():
    assert parse_sizes("1MiB,64,64B,4KiB") == [1 << 20, 64, 4096]
    with pytest.raises(ValueError, match="no sizes"):
        parse_sizes(" , ")
