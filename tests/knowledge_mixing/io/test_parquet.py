"""Parquet read one row group at a time, and re-cut into batches of a fixed size."""
import pyarrow as pa
import pyarrow.parquet as pq

from knowledge_mixing.io.parquet import rebatched, row_groups


def test_rebatched_gives_full_batches_in_order():
    tables = [pa.table({"x": list(range(start, start + n))})
              for start, n in ((0, 3), (3, 5), (8, 1), (9, 7), (16, 2))]
    out = list(rebatched(tables, 4))
    assert [t.num_rows for t in out] == [4, 4, 4, 4, 2]
    assert [x for t in out for x in t["x"].to_pylist()] == list(range(18))
    assert [t.num_rows for t in rebatched([pa.table({"x": list(range(8))})], 4)] == [4, 4]
    empty = pa.table({"x": pa.array([], pa.int64())})
    assert [t.num_rows for t in rebatched([pa.table({"x": [1]}), empty], 4)] == [1]
    assert list(rebatched([], 4)) == []


def test_row_groups_one_at_a_time_with_the_columns_asked_for(tmp_path):
    path = tmp_path / "t.parquet"
    table = pa.table({"x": list(range(10)), "y": [str(i) for i in range(10)]})
    pq.write_table(table, path, row_group_size=4)
    groups = list(row_groups(str(path)))
    assert [g.num_rows for g in groups] == [4, 4, 2]
    assert pa.concat_tables(groups).equals(table)
    only_y = list(row_groups(str(path), columns=["y"], read_dictionary=["y"]))
    assert only_y[0].column_names == ["y"]
    assert pa.types.is_dictionary(only_y[0]["y"].type)
    assert [v for g in only_y for v in g["y"].to_pylist()] == table["y"].to_pylist()
