"""Parquet read one row group at a time, or in runs of whole row groups."""
import pyarrow as pa
import pyarrow.parquet as pq

from knowledge_mixing.io.parquet import row_group_runs, row_groups


def test_row_group_runs_hold_at_least_the_size_and_never_split_a_group():
    assert list(row_group_runs([3, 5, 1, 7, 2], 4)) == [(0, [0, 1]), (8, [2, 3]), (16, [4])]
    assert list(row_group_runs([10, 1], 4)) == [(0, [0]), (10, [1])]
    assert list(row_group_runs([2, 2], 4)) == [(0, [0, 1])]
    assert list(row_group_runs([], 4)) == []


def test_row_groups_one_at_a_time_with_the_columns_asked_for(tmp_path):
    path = tmp_path / "t.parquet"
    table = pa.table({"x": list(range(10)), "y": [str(i) for i in range(10)]})
    pq.write_table(table, path, row_group_size=4)
    groups = list(row_groups(str(path)))
    assert [g.num_rows for g in groups] == [4, 4, 2]
    assert pa.concat_tables(groups).equals(table)
    only_y = list(row_groups(str(path), columns=["y"]))
    assert only_y[0].column_names == ["y"]
    assert [v for g in only_y for v in g["y"].to_pylist()] == table["y"].to_pylist()
