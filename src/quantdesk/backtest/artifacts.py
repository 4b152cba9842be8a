"""Save a backtest result to a directory and load it back exactly.

Layout of a saved result (format ``quantdesk.backtest-result``, version 1)::

    <directory>/
        manifest.json        scalars, metrics, risk metrics, log, series names, checksums
        spec.json            the run's spec (only when one was given)
        equity.parquet       one Parquet file per series and frame of the result
        daily_equity.parquet returns.parquet cash.parquet
        positions.parquet fills.parquet orders.parquet trades.parquet

Series and frames are written with pyarrow, which keeps time zones, dtypes and index names.
JSON holds no bare ``NaN``/``Infinity`` (invalid JSON): a non-finite float is written as
``{"__float__": "nan" | "inf" | "-inf"}`` and a timestamp as
``{"__timestamp__": ISO text, "tz": zone, "unit": resolution}``; both are decoded on load.

Writes are atomic: everything goes into a hidden sibling directory first, each file is
flushed to disk, and only then is the directory renamed into place. An existing result at the
target is moved aside and removed only once the new one is in place, and put back if that
rename fails, so a failed save leaves the previous result intact and nothing half-written.
An existing directory is only ever replaced when it is empty or holds a saved result.

:func:`load_result` checks each file's SHA-256 recorded in the manifest, so a truncated or
edited file is reported by name instead of loading silently wrong numbers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.results import BacktestMetrics, BacktestResult
from quantdesk.core.errors import Issue, NotFound, ValidationError
from quantdesk.risk.metrics import RiskMetrics

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "load_result",
    "load_spec",
    "plain_json",
    "save_result",
    "spec_hash",
    "write_bytes_atomic",
]

#: Format name recorded in ``manifest.json``.
FORMAT = "quantdesk.backtest-result"
#: Layout version recorded in ``manifest.json``; :func:`load_result` refuses others.
FORMAT_VERSION = 1

_MANIFEST = "manifest.json"
_SPEC = "spec.json"
_SERIES = ("equity", "daily_equity", "returns", "cash")
_FRAMES = ("positions", "fills", "orders", "trades")
_VALUE_COLUMN = "value"


# --- JSON with explicit non-finite floats and timestamps ---------------------------------


def plain_json(value: Any, location: str) -> Any:
    """Return ``value`` as JSON-model data (dict/list/str/int/float/bool/None, Timestamp)."""
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, np.generic):
        return plain_json(value.item(), location)
    if isinstance(value, Enum):
        return plain_json(value.value, location)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic models
        return plain_json(dump(mode="json"), location)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(
                    "spec is not serialisable",
                    [Issue(location, f"key {key!r} is not a string; use string keys")],
                )
            out[key] = plain_json(item, f"{location}.{key}")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [plain_json(item, f"{location}[{i}]") for i, item in enumerate(items)]
    raise ValidationError(
        "spec is not serialisable",
        [Issue(location, f"{type(value).__name__} cannot be stored as JSON; pass plain values")],
    )


def _encode(value: Any) -> Any:
    """Return JSON-model data with non-finite floats and timestamps tagged."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, pd.Timestamp):
        return {
            "__timestamp__": value.isoformat(),
            "tz": None if value.tz is None else str(value.tz),
            "unit": value.unit,
        }
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, np.generic):
        return _encode(value.item())
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        if set(value) == {"__timestamp__", "tz", "unit"}:
            stamp = pd.Timestamp(value["__timestamp__"]).as_unit(value["unit"])
            return stamp if value["tz"] is None else stamp.tz_convert(value["tz"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_encode(value), allow_nan=False, ensure_ascii=True, indent=1)


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of a spec's canonical JSON.

    The spec is first reduced to plain JSON data (tuples become lists, enums their values,
    pydantic models their JSON dump, dates ISO text, datetimes tagged timestamps), then
    serialised with sorted keys and no whitespace, so equal specs hash equally whatever their
    key order.

    Parameters
    ----------
    spec
        The run's specification (strategy, parameters, costs, capital, data...).

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    ValidationError
        If a value cannot be represented as JSON; the issue names its key path.
    """
    plain = plain_json(spec, "spec")
    text = json.dumps(_encode(plain), allow_nan=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --- atomic writes --------------------------------------------------------------------------


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, engine="pyarrow", index=True)


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def _dataclass_dict(value: BacktestMetrics | RiskMetrics) -> dict[str, Any]:
    return {item.name: plain_json(getattr(value, item.name), item.name) for item in fields(value)}


def _write_all(result: BacktestResult, staging: Path, spec: Any | None) -> None:
    files: dict[str, str] = {}
    series_names: dict[str, Any] = {}

    def store(name: str, write: Callable[[Path], None]) -> None:
        path = staging / name
        write(path)
        _fsync(path)
        files[name] = _sha256(path)

    for attribute in _SERIES:
        series: pd.Series = getattr(result, attribute)
        series_names[attribute] = plain_json(series.name, f"{attribute}.name")
        store(f"{attribute}.parquet", partial(_write_frame, series.to_frame(name=_VALUE_COLUMN)))
    for attribute in _FRAMES:
        store(f"{attribute}.parquet", partial(_write_frame, getattr(result, attribute)))
    digest = None
    if spec is not None:
        digest = spec_hash(spec)
        text = _dumps(spec)
        store(_SPEC, partial(_write_text, text))
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "strategy": result.strategy,
        "initial_cash": float(result.initial_cash),
        "symbols": list(result.symbols),
        "log": list(result.log),
        "series": series_names,
        "metrics": _dataclass_dict(result.metrics),
        "risk": _dataclass_dict(result.risk),
        "spec_hash": digest,
        "files": files,
    }
    # the manifest goes last: a directory without it is never taken for a result
    store(_MANIFEST, partial(_write_text, _dumps(manifest)))
    _fsync(staging)


def _is_replaceable(target: Path) -> bool:
    if not target.is_dir():
        return False
    entries = list(target.iterdir())
    return not entries or (target / _MANIFEST).is_file()


def save_result(
    result: BacktestResult,
    directory: str | os.PathLike[str],
    *,
    spec: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``result`` (and the spec that produced it) to ``directory``, atomically.

    Parameters
    ----------
    result
        The backtest result to store.
    directory
        Target directory. Its parent is created if needed; an existing directory is replaced
        only if it is empty or holds a saved result.
    spec
        The run's specification; stored as ``spec.json`` with its :func:`spec_hash` in the
        manifest.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    ValidationError
        If the target exists and is a file or a directory that is not a saved result, or the
        spec holds values JSON cannot represent.
    """
    target = Path(directory)
    plain_spec = None if spec is None else plain_json(spec, "spec")
    if target.exists() and not _is_replaceable(target):
        raise ValidationError(
            "cannot save the backtest result",
            [
                Issue(
                    str(target),
                    "exists and is not a saved backtest result; choose a new or empty directory",
                    "directory",
                )
            ],
        )
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        _write_all(result, staging, plain_spec)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync(parent)
    return target


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    backup = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    os.replace(target, backup)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


# --- loading -----------------------------------------------------------------------------


def _invalid(path: Path, reason: str) -> ValidationError:
    return ValidationError(
        f"{path} is not a valid saved backtest result",
        [Issue(str(path), f"{reason}; save the result again")],
    )


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise NotFound(f"{path} is missing: the saved backtest result is incomplete")
    try:
        return _decode(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid(path, f"unreadable JSON ({error})") from None


def _manifest(root: Path) -> dict[str, Any]:
    if not root.is_dir():
        raise NotFound(f"no saved backtest result at {root}")
    path = root / _MANIFEST
    if not path.is_file():
        raise NotFound(f"{path} is missing: {root} is not a saved backtest result")
    manifest = _read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _invalid(path, f"not a {FORMAT} manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise _invalid(
            path, f"format version {manifest.get('version')!r} (this code reads {FORMAT_VERSION})"
        )
    required = ("strategy", "initial_cash", "symbols", "log", "series", "metrics", "risk")
    missing = [key for key in (*required, "files") if key not in manifest]
    if missing:
        raise _invalid(path, f"missing keys {', '.join(missing)}")
    if not isinstance(manifest["files"], dict):
        raise _invalid(path, "'files' must map file names to checksums")
    return manifest


def _checked(root: Path, name: str, files: Mapping[str, Any]) -> Path:
    path = root / name
    if name not in files:
        raise _invalid(root / _MANIFEST, f"no checksum for {name}")
    if not path.is_file():
        raise NotFound(f"{path} is missing: the saved backtest result is incomplete")
    if _sha256(path) != files[name]:
        raise _invalid(path, "checksum mismatch: the file is corrupt or was changed")
    return path


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as error:  # pyarrow raises several unrelated types for bad files
        raise _invalid(path, f"unreadable Parquet ({type(error).__name__}: {error})") from None


def load_result(directory: str | os.PathLike[str]) -> BacktestResult:
    """Load a result written by :func:`save_result`.

    Parameters
    ----------
    directory
        The directory :func:`save_result` returned.

    Returns
    -------
    BacktestResult
        Equal to the saved one: same series and frames (dtypes, time zones, index names),
        metrics, risk metrics, symbols and log.

    Raises
    ------
    NotFound
        If the directory, its manifest or one of its files is missing (the message names it).
    ValidationError
        If a file is corrupt (bad JSON or Parquet, checksum mismatch), of another format
        version, or does not describe a result; the issue names the file.
    """
    root = Path(directory)
    manifest = _manifest(root)
    files = manifest["files"]
    manifest_path = root / _MANIFEST
    series: dict[str, pd.Series] = {}
    for attribute in _SERIES:
        frame = _read_frame(_checked(root, f"{attribute}.parquet", files))
        if _VALUE_COLUMN not in frame.columns:
            raise _invalid(root / f"{attribute}.parquet", f"no {_VALUE_COLUMN!r} column")
        values = frame[_VALUE_COLUMN]
        values.name = manifest["series"].get(attribute)
        series[attribute] = values
    frames = {name: _read_frame(_checked(root, f"{name}.parquet", files)) for name in _FRAMES}
    try:
        metrics = BacktestMetrics(**manifest["metrics"])
        risk = RiskMetrics(**manifest["risk"])
        return BacktestResult(
            strategy=str(manifest["strategy"]),
            initial_cash=float(manifest["initial_cash"]),
            symbols=tuple(str(symbol) for symbol in manifest["symbols"]),
            equity=series["equity"],
            daily_equity=series["daily_equity"],
            returns=series["returns"],
            cash=series["cash"],
            positions=frames["positions"],
            fills=frames["fills"],
            orders=frames["orders"],
            trades=frames["trades"],
            metrics=metrics,
            risk=risk,
            log=tuple(str(line) for line in manifest["log"]),
        )
    except (TypeError, ValueError, AttributeError) as error:
        raise _invalid(manifest_path, f"fields do not describe a result ({error})") from None


def load_spec(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the spec saved with a result, ``None`` if it was saved without one.

    The spec comes back as plain JSON data (see :func:`spec_hash`): tuples are lists,
    datetimes pandas Timestamps and non-finite floats floats again.

    Raises
    ------
    NotFound, ValidationError
        As :func:`load_result`, for the manifest and ``spec.json``.
    """
    root = Path(directory)
    manifest = _manifest(root)
    if manifest.get("spec_hash") is None:
        return None
    path = _checked(root, _SPEC, manifest["files"])
    spec = _read_json(path)
    if not isinstance(spec, dict):
        raise _invalid(path, "the spec must be a JSON object")
    return spec
