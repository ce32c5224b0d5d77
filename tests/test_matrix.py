import pytest

from ipcbench.cell import Cell
from ipcbench.matrix import Selection, SelectionError, build_cells
from ipcbench.transports import registry

REGISTRY = registry(with_plugins=False)


def cells_of(cpu_count=2, **axes):
    return build_cells(Selection(**axes), REGISTRY, cpu_count)


def test_default_matrix_covers_every_transport_under_each_method_it_claims():
    cells = cells_of()
    # 5 multiprocessing transports x 3 methods + subprocess_pipe (exec) + null (none),
    # x 4 sizes x 2 patterns, one placement.
    assert len(cells) == (5 * 3 + 1 + 1) * 4 * 2
    assert {c.method for c in cells if c.transport == "subprocess_pipe"} == {"exec"}
    assert {c.method for c in cells if c.transport == "null"} == {"none"}
    assert {c.placement for c in cells} == {"split"}


def test_order_is_stable_and_follows_the_axes():
    first, again = cells_of(), cells_of()
    assert first == again
    assert [c.name for c in first[:3]] == [
        "pingpong/os_pipe/fork/64B/split",
        "pingpong/os_pipe/fork/4KiB/split",
        "pingpong/os_pipe/fork/64KiB/split",
    ]


def test_selection_narrows_each_axis():
    cells = cells_of(
        transports=("os_pipe", "mp_queue"),
        methods=("fork", "spawn"),
        sizes=(64, 65536, 1 << 20),
        patterns=("pingpong",),
    )
    assert len(cells) == 2 * 2 * 3
    assert cells[0].name == "pingpong/os_pipe/fork/64B/split"


def test_placements_form_an_axis():
    cells = cells_of(
        transports=("os_pipe",),
        methods=("fork",),
        sizes=(64,),
        patterns=("pingpong",),
        placements=("split", "same", "free"),
    )
    assert [c.placement for c in cells] == ["split", "same", "free"]


def test_one_cpu_defaults_to_same_and_refuses_split():
    assert {c.placement for c in cells_of(cpu_count=1)} == {"same"}
    with pytest.raises(SelectionError, match="2 CPUs"):
        cells_of(cpu_count=1, placements=("split",))


def test_a_selection_without_cells_says_why():
    with pytest.raises(SelectionError, match="subprocess_pipe runs only under exec"):
        cells_of(transports=("subprocess_pipe",), methods=("fork",))


def test_unsupported_combinations_are_noted_not_hidden():
    selection = Selection(transports=("os_pipe", "subprocess_pipe"), methods=("spawn",))
    build_cells(selection, REGISTRY, 2)
    assert any("subprocess_pipe runs only under exec" in note for note in selection.notes)


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({"transports": ("nope",)}, "unknown transport nope"),
        ({"methods": ("vfork",)}, "unknown start method vfork"),
        ({"patterns": ("burst",)}, "unknown pattern burst"),
        ({"placements": ("left",)}, "unknown placement left"),
    ],
)
def test_unknown_names_are_errors(axes, message):
    with pytest.raises(SelectionError, match=message):
        cells_of(**axes)


def test_cell_names_round_trip():
    for cell in cells_of():
        assert Cell.from_name(cell.name) == cell
    with pytest.raises(ValueError):
        Cell.from_name("pingpong/os_pipe/fork")


def test_all_selects_every_available_transport_and_the_default_set_is_smaller():
    from ipcbench.transports.base import Transport

    class Extra(Transport):
        name, summary, methods = "extra", "not in the default set", ("fork",)
        in_default_matrix = False

    class Missing(Extra):
        name = "missing"

        @classmethod
        def unavailable_reason(cls):
            return "needs a package that is not installed"

    from ipcbench.transports import Registry, builtin

    extended = Registry((*builtin(), Extra, Missing))
    default = {c.transport for c in build_cells(Selection(), extended, 2)}
    everything = {c.transport for c in build_cells(Selection(transports=("all",)), extended, 2)}
    assert "extra" not in default and "extra" in everything and default < everything
    assert "missing" not in everything
    with pytest.raises(SelectionError, match="missing is unavailable here: needs a package"):
        build_cells(Selection(transports=("missing",)), extended, 2)


def test_payload_kinds_append_to_names_only_when_not_bytes():
    cells = cells_of(
        transports=("os_pipe",),
        methods=("fork",),
        sizes=(64,),
        patterns=("pingpong",),
        kinds=("bytes", "pickle", "numpy"),
    )
    assert [c.name for c in cells] == [
        "pingpong/os_pipe/fork/64B/split",
        "pingpong/os_pipe/fork/64B/split/pickle",
        "pingpong/os_pipe/fork/64B/split/numpy",
    ]
    for cell in cells:
        assert Cell.from_name(cell.name) == cell
        assert cell.metadata()["kind"] == cell.kind
    with pytest.raises(SelectionError, match="unknown payload kind json"):
        cells_of(kinds=("json",))


def test_new_axes_append_to_names_only_away_from_their_default():
    plain = Cell("fanin", "mp_queue", "fork", 64, "split")
    assert plain.name == "fanin/mp_queue/fork/64B/split"
    both = Cell("pool", "map", "spawn", 4096, "split", procs=4, chunksize=16)
    assert both.name == "pool/map/spawn/4KiB/split/procs=4/chunksize=16"
    counter = Cell("counter", "unlocked", "fork", 0, "split", procs=2)
    assert counter.name == "counter/unlocked/fork/0B/split/procs=2"
    numpy = Cell("pingpong", "os_pipe", "fork", 64, "split", kind="numpy")
    for each in (plain, both, counter, numpy):
        assert Cell.from_name(each.name) == each
    for bad in ("pool/map/fork/64B/split/procs=0", "pool/map/fork/64B/split/workers=2"):
        with pytest.raises(ValueError, match="not an ipcbench cell name"):
            Cell.from_name(bad)


def test_each_pattern_measures_its_own_subjects_on_its_own_axes():
    cells = cells_of(
        patterns=("startup", "fanin", "pool", "counter"),
        transports=("os_pipe", "mp_pipe", "process", "map", "apply", "unlocked"),
        methods=("fork", "exec"),
        sizes=(64, 65536),
        procs=(1, 2),
        chunksizes=(1, 8),
    )
    by_pattern = {}
    for cell in cells:
        by_pattern.setdefault(cell.pattern, []).append(cell.name)
    # startup: one cell per transport at the smallest size; the bare process also under exec.
    assert by_pattern["startup"] == [
        "startup/os_pipe/fork/64B/split",
        "startup/mp_pipe/fork/64B/split",
        "startup/process/fork/0B/split",
        "startup/process/exec/0B/split",
    ]
    # fanin: only transports that take several writers, and os_pipe only up to PIPE_BUF.
    assert by_pattern["fanin"] == [
        "fanin/os_pipe/fork/64B/split",
        "fanin/os_pipe/fork/64B/split/procs=2",
    ]
    # pool: chunksize for map only; counter: no payload size.
    assert len(by_pattern["pool"]) == 2 * 2 * 2 + 2 * 2  # map: size x procs x chunk; apply
    assert by_pattern["counter"] == [
        "counter/unlocked/fork/0B/split",
        "counter/unlocked/fork/0B/split/procs=2",
    ]


def test_patterns_without_transports_select_no_transport_by_default():
    selection = Selection(patterns=("pool", "counter"))
    cells = build_cells(selection, REGISTRY, 2)
    assert {c.transport for c in cells} == {
        "apply", "map", "imap", "executor_submit", "executor_map",
        "value_lock", "manager_lock", "unlocked",
    }  # fmt: skip
    assert selection.notes == []  # nothing about transports that were never asked for
