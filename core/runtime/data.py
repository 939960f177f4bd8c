"""Holdout tables (CSV or Parquet) as columns of numpy arrays.

No pandas: the base install stays small. CSV cells that all parse as numbers
become float64 columns (empty cells are NaN); anything else stays text.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpipex.config import Config
from mlpipex.errors import InputError, Location

__all__ = ["CHUNK_ROWS", "Holdout", "iter_table_chunks", "load_holdout", "read_table", "table_columns"]


@dataclass(frozen=True)
class Holdout:
    """The holdout set split into what the gates use."""

    path: Path
    features: np.ndarray  # [rows, n_features], float64
    feature_names: tuple[str, ...]
    labels: np.ndarray
    prediction: np.ndarray | None  # the training pipeline's predicted labels
    score: np.ndarray | None  # the training pipeline's score (probability or value)

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])


def read_table(path: Path) -> dict[str, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, delimiter="\t" if suffix == ".tsv" else ",")
    raise InputError(
        f"unsupported holdout format `{path.suffix}`",
        location=Location(str(path)),
        fix="use a .csv or .parquet file",
    )


def _read_csv(path: Path, delimiter: str) -> dict[str, np.ndarray]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read holdout: {exc.strerror}", location=Location(str(path))) from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError("the holdout file is empty", location=Location(str(path))) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"not a readable CSV file: {exc}", location=Location(str(path), 1)) from None
        duplicates = sorted({h for h in header if header.count(h) > 1})
        if duplicates:
            raise InputError(
                f"duplicate column names: {', '.join(duplicates)}", location=Location(str(path), 1)
            )
        cells: list[list[str]] = [[] for _ in header]
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise InputError(
                        f"row has {len(row)} fields, the header has {len(header)}",
                        location=Location(str(path), reader.line_num),
                        fix="every row needs one value per column (quote values containing commas)",
                    )
                for column, value in zip(cells, row):
                    column.append(value)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(
                f"not a readable CSV file: {exc}", location=Location(str(path), reader.line_num)
            ) from None
    if not cells or not cells[0]:
        raise InputError("the holdout has a header but no rows", location=Location(str(path)))
    return {name: _column(values) for name, values in zip(header, cells)}


def _column(values: list[str]) -> np.ndarray:
    try:
        return np.array([float(v) if v.strip() else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)


def _read_parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow, which is not installed",
            location=Location(str(path)),
            fix="pip install 'mlpipex[parquet]', or give the holdout as CSV",
        ) from None
    try:
        table = pq.read_table(path)
    except OSError as exc:
        raise InputError(f"not a readable Parquet file: {exc}", location=Location(str(path))) from None
    columns: dict[str, np.ndarray] = {}
    for name in table.column_names:
        array = table.column(name).to_numpy(zero_copy_only=False)
        if array.dtype.kind in "iufb":
            array = array.astype(np.float64)
        columns[name] = array
    if table.num_rows == 0:
        raise InputError("the holdout has no rows", location=Location(str(path)))
    return columns


# -- chunked reading (the reference profile of a training set of any size) --------

CHUNK_ROWS = 65_536


def table_columns(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file, reading only its header or schema."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        except ImportError:
            raise InputError("reading Parquet needs pyarrow", location=Location(str(path)),
                             fix="pip install 'mlpipex[parquet]', or give the data as CSV") from None  # fmt: skip
        except OSError as exc:
            raise InputError(f"not a readable Parquet file: {exc}", location=Location(str(path))) from None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the header of {path.name}: {exc}", location=Location(str(path))) from None


def iter_table_chunks(path: Path, columns: Sequence[str], *, rows: int = CHUNK_ROWS) -> Iterator[dict[str, np.ndarray]]:
    """The ``columns`` of a CSV or Parquet file, at most ``rows`` rows at a time (bounded memory)."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        yield from _parquet_chunks(path, columns, rows)
    elif suffix in (".csv", ".txt", ".tsv"):
        yield from _csv_chunks(path, columns, rows, "\t" if suffix == ".tsv" else ",")
    else:
        raise InputError(f"unsupported training data format `{path.suffix}`", location=Location(str(path)),
                         fix="use a .csv or .parquet file")  # fmt: skip


def _csv_chunks(path: Path, columns: Sequence[str], rows: int, delimiter: str) -> Iterator[dict[str, np.ndarray]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the training data: {exc.strerror}", location=Location(str(path))) from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError(f"the training data lacks feature columns: {', '.join(missing)}",
                                 location=Location(str(path), 1))  # fmt: skip
            index = [header.index(c) for c in columns]
            cells: list[list[str]] = [[] for _ in columns]
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise InputError(f"row has {len(row)} fields, the header has {len(header)}",
                                     location=Location(str(path), reader.line_num))  # fmt: skip
                for column, i in zip(cells, index):
                    column.append(row[i])
                if len(cells[0]) >= rows:
                    yield {name: _column(values) for name, values in zip(columns, cells)}
                    cells = [[] for _ in columns]
        except StopIteration:
            raise InputError("the training data file is empty", location=Location(str(path))) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"not a readable CSV file: {exc}", location=Location(str(path), reader.line_num)) from None
        if cells and cells[0]:
            yield {name: _column(values) for name, values in zip(columns, cells)}


def _parquet_chunks(path: Path, columns: Sequence[str], rows: int) -> Iterator[dict[str, np.ndarray]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("reading Parquet needs pyarrow", location=Location(str(path)),
                         fix="pip install 'mlpipex[parquet]', or give the training data as CSV") from None  # fmt: skip
    try:
        source = pq.ParquetFile(path)
        missing = [c for c in columns if c not in source.schema_arrow.names]
        if missing:
            raise InputError(f"the training data lacks feature columns: {', '.join(missing)}",
                             location=Location(str(path)))  # fmt: skip
        for batch in source.iter_batches(batch_size=rows, columns=list(columns)):
            chunk = {}
            for name in columns:
                array = batch.column(name).to_numpy(zero_copy_only=False)
                chunk[name] = array.astype(np.float64) if array.dtype.kind in "iufb" else array
            yield chunk
    except OSError as exc:
        raise InputError(f"not a readable Parquet file: {exc}", location=Location(str(path))) from None


def load_holdout(config: Config) -> Holdout:
    """Read the holdout and pick out features, labels and training predictions."""
    path = config.resolve(config.data.holdout)
    if not path.is_file():
        raise InputError(
            f"holdout set not found: {path}",
            location=Location(str(config.source)),
            fix="set data.holdout to a CSV or Parquet file, relative to the config file",
        )
    table = read_table(path)
    data = config.data

    def column(name: str, key: str) -> np.ndarray:
        if name in table:
            return table[name]
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"columns are: {', '.join(table)}"
        raise InputError(
            f"column `{name}` (data.{key}) is not in the holdout {path.name}",
            location=Location(str(config.source)),
            fix=hint,
        )

    special = {data.label, data.prediction_column, data.score_column} - {None}
    if not data.features and data.training:
        _same_features_as_training(config, table, special, path)
    names = tuple(data.features) if data.features else tuple(c for c in table if c not in special)
    feature_columns = [column(name, "features") for name in names]
    for name, values in zip(names, feature_columns):
        if values.dtype == object:
            row = next(i for i, v in enumerate(values) if not _is_number(v))
            raise InputError(
                f"feature column `{name}` holds text ({_cell(values[row])} in data row {row + 1}), "
                "the model takes numbers",
                location=_row_location(path, row),
                fix="encode it numerically before export, or leave it out of data.features",
            )
        _no_missing(values, f"feature `{name}`", path,
                    "fill the cell or drop the row: the model must not be blamed for a hole in the data")  # fmt: skip
    features = np.column_stack(feature_columns) if feature_columns else np.empty((0, 0))
    labels = column(data.label, "label")
    _no_missing(labels, f"label `{data.label}` (data.label)", path, "every holdout row needs its true label")
    prediction = score = None
    if data.prediction_column:
        prediction = column(data.prediction_column, "prediction_column")
        _no_missing(prediction, f"`{data.prediction_column}` (data.prediction_column)", path,
                    "every row needs the training pipeline's prediction")  # fmt: skip
    if data.score_column:
        score = column(data.score_column, "score_column")
        if score.dtype == object:
            raise InputError(f"`{data.score_column}` (data.score_column) holds text, not scores",
                             location=Location(str(path)), fix="it holds the training pipeline's numeric score")  # fmt: skip
        _no_missing(score, f"`{data.score_column}` (data.score_column)", path,
                    "every row needs the training pipeline's score")  # fmt: skip
    return Holdout(path=path, features=features, feature_names=names, labels=labels, prediction=prediction, score=score)


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _cell(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 30 else text[:30] + "…")


def _row_location(path: Path, row: int) -> Location:
    """Data row ``row`` (0-based): line row + 2 of a CSV with a header (and no blank lines)."""
    return Location(str(path), row + 2) if path.suffix.lower() in (".csv", ".tsv", ".txt") else Location(str(path))


def _no_missing(values: np.ndarray, what: str, path: Path, fix: str) -> None:
    """An empty or NaN cell, named by column and row, before any model sees the data."""
    if values.dtype == object:
        missing = np.array([v is None or (isinstance(v, str) and not v.strip()) for v in values], dtype=bool)
    else:
        missing = np.isnan(values.astype(np.float64, copy=False))
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    more = f" (and {rows.size - 1} more row{'s' if rows.size > 2 else ''})" if rows.size > 1 else ""
    raise InputError(f"{what} is empty or NaN in data row {int(rows[0]) + 1}{more}",
                     location=_row_location(path, int(rows[0])), fix=fix)  # fmt: skip


def _same_features_as_training(config: Config, table: dict[str, np.ndarray], special: set[str | None], path: Path) -> None:
    """With the default features (every other column), the training set says which columns those are."""
    assert config.data.training is not None
    training = config.resolve(config.data.training)
    if not training.is_file():
        return  # the config check names a missing training file
    expected = [c for c in table_columns(training) if c not in special]
    missing = [c for c in expected if c not in table]
    extra = [c for c in table if c not in special and c not in expected]
    if missing or extra:
        parts = ([f"lacks {', '.join(f'`{c}`' for c in missing)}"] if missing else []) + (
            [f"has {', '.join(f'`{c}`' for c in extra)}, which training ({training.name}) does not"] if extra else []
        )
        raise InputError(
            f"the holdout's feature columns differ from data.training's: the holdout {'; and '.join(parts)}",
            location=Location(str(path), 1),
            fix="give both files the same feature columns, or list them in data.features",
        )
