"""Reading in-situ probes from an ISMN download (zip or extracted folder) with the ismn package.

The ismn package builds a metadata table of the archive on first use and stores it in a
"python_metadata" folder; here that folder always goes to a temporary directory so the
raw archive under resources/ is never modified.

Tables produced:

- probes: one row per sensor (network, station, sensor, variable, depths, coordinates,
  elevation, HWSD-like texture and organic carbon, land cover, climate). `probe` is the
  station name, prefixed with the network where two networks share a station name.
- hourly: long table (probe, network, station, sensor, variable, depth_from, depth_to,
  time, value, flag), times in UTC as naive timestamps.
- daily: `daily_soil_moisture` averages good ('G') hourly values to days per site, a site
  being the sensors of one station that lie within 10 m of each other.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from soilsat.acquire.ismn_formats import HEAD_BYTES, check_format
from soilsat.acquire.ismn_layout import data_files, data_prefix, ismn_root, member_names, member_reader, read_member
from soilsat.errors import ProductError

SOIL_MOISTURE = "soil_moisture"
SOIL_TEMPERATURE = "soil_temperature"
GOOD_FLAG = "G"
SITE_RADIUS_M = 10.0

PROBE_COLUMNS = [
    "probe",
    "network",
    "station",
    "sensor",
    "variable",
    "lat",
    "lon",
    "elevation",
    "depth_from",
    "depth_to",
    "clay",
    "sand",
    "silt",
    "organic_carbon",
    "saturation",
    "landcover",
    "landcover_cci",
    "climate",
    "time_from",
    "time_to",
    "file_path",
]
HOURLY_COLUMNS = [
    "probe",
    "network",
    "station",
    "sensor",
    "variable",
    "depth_from",
    "depth_to",
    "time",
    "value",
    "flag",
]


def _check_download(archive: Path) -> tuple[list[str], str]:
    """The files of a download and the folder above its network folders, after checking it is one."""
    if not archive.exists():
        raise ProductError(archive, "ISMN archive not found")
    if archive.is_file() and not zipfile.is_zipfile(archive):
        raise ProductError(archive, "not an ISMN download: not a zip archive")
    names = member_names(archive)
    return names, data_prefix(archive, names)


def _check_formats(archive: Path, names: Sequence[str]) -> None:
    """Refuse a download holding data files in an old format the ismn package cannot read, naming the first one."""
    with member_reader(archive) as read:
        for name in data_files(names):
            head = read(name, HEAD_BYTES).decode("latin-1")
            # the reader is called within this iteration, so the loop variable it closes over is the right one
            check_format(f"{archive}!{name}", name, head, lambda: read(name).decode("latin-1"))  # noqa: B023


@contextlib.contextmanager
def open_ismn(archive: str | os.PathLike) -> Iterator[tuple[Any, str]]:
    """An ismn.interface.ISMN_Interface on the archive and the folder of the archive its file paths start in.

    The interface's metadata are kept in a temporary folder; a zip whose network folders lie
    inside a wrapper folder is unpacked there too (see soilsat.acquire.ismn_layout).
    """
    from ismn.interface import ISMN_Interface

    archive = Path(archive)
    names, prefix = _check_download(archive)
    _check_formats(archive, names)
    quiet = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="soilsat-ismn-") as tmp:
        root = ismn_root(archive, names, prefix, Path(tmp) / "unpacked")
        logging.getLogger("ismn").setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                iface = ISMN_Interface(
                    root, meta_path=Path(tmp) / "python_metadata", temp_root=Path(tmp) / "extract", parallel=False
                )
        except ProductError:
            raise
        except Exception as exc:  # noqa: BLE001 - the ismn package raises many kinds on malformed input
            msg = " ".join(str(exc).split())[:200]
            raise ProductError(archive, f"not readable as an ISMN download ({type(exc).__name__}: {msg})") from None
        try:
            if len(iface.metadata) == 0:
                raise ProductError(archive, "ISMN download holds no readable data files")
            yield iface, prefix
        finally:
            with contextlib.suppress(Exception):
                iface.close_files()


def _network_of(folder_network: str, file_path: str) -> str:
    """The network named in the file name; ismn takes the top folder, which may be a wrapper."""
    base = PurePosixPath(str(file_path)).name
    if base.startswith(f"{folder_network}_{folder_network}_"):
        return folder_network
    parts = base.split("_")
    return parts[1] if len(parts) > 2 else folder_network


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _landcover(value) -> object:
    """In-situ land cover: an integer code where it is one (e.g. CORINE 211), else the text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text.lower() in ("unknown", "nan", ""):
        return None
    try:
        f = float(text)
        return int(f) if f.is_integer() else f
    except ValueError:
        return text


def sensor_table(iface, prefix: str = "") -> pd.DataFrame:
    """One row per sensor file of an open ISMN interface (all variables and depths); `file_path` is the file's
    path in the download, whose network folders lie in `prefix`."""
    meta = iface.metadata

    def col(name: str, key: str = "val") -> pd.Series:
        if (name, key) in meta.columns:
            return meta[(name, key)]
        return pd.Series([np.nan] * len(meta), index=meta.index)

    folder_net = col("network").astype(str)
    paths = prefix + col("file_path").astype(str)
    network = [_network_of(n, p) for n, p in zip(folder_net, paths)]
    table = pd.DataFrame(
        {
            "network": network,
            "folder_network": folder_net.to_numpy(),
            "station": col("station").astype(str).to_numpy(),
            "sensor": col("instrument").astype(str).to_numpy(),
            "variable": col("variable").astype(str).to_numpy(),
            "lat": col("latitude").map(_num).to_numpy(),
            "lon": col("longitude").map(_num).to_numpy(),
            "elevation": col("elevation").map(_num).to_numpy(),
            "depth_from": col("variable", "depth_from").map(_num).to_numpy(),
            "depth_to": col("variable", "depth_to").map(_num).to_numpy(),
            "clay": col("clay_fraction").map(_num).to_numpy(),
            "sand": col("sand_fraction").map(_num).to_numpy(),
            "silt": col("silt_fraction").map(_num).to_numpy(),
            "organic_carbon": col("organic_carbon").map(_num).to_numpy(),
            "saturation": col("saturation").map(_num).to_numpy(),
            "landcover": col("lc_insitu").map(_landcover).to_numpy(),
            "landcover_cci": col("lc_2010").map(_num).to_numpy(),
            "climate": col("climate_KG").astype(str).to_numpy(),
            "time_from": pd.to_datetime(col("timerange_from")).to_numpy(),
            "time_to": pd.to_datetime(col("timerange_to")).to_numpy(),
            "file_path": paths.to_numpy(),
            "ismn_idx": meta.index.to_numpy(),
        }
    )
    # A station name is the probe id, unless two networks share it.
    dup = table.groupby("station")["network"].transform("nunique") > 1
    table.insert(0, "probe", np.where(dup, table["network"] + "/" + table["station"], table["station"]))
    return table


_STAMP = re.compile(r"^\d{4}/\d{2}/\d{2}$|^\d{2}:\d{2}$")
_COLUMNS = "date, time, value, ISMN flag, provider flag"


def _member_text(archive: Path, file_path: str) -> str:
    """The text of one data file of the archive (zip member or file under the folder)."""
    return read_member(archive, file_path).decode("latin-1")


def check_stm(archive: Path, file_path: str) -> None:
    """Check every data line of a header + values .stm file: date, time, value, ISMN flag, provider flag.

    The provider flag may be missing (real SMOSMANIA files have such lines); any other column
    count, a line without a time at its start or a value that is not a number is an error.

    The ismn package reads these files with pandas and either fails deep inside it (a line of
    garbage) or quietly drops or invents columns (a line with too few or too many fields); here
    the first such line is a ProductError naming the file and the line, so a damaged download
    never reaches the daily table. Lines may end in LF, CRLF or CR only (SMOSMANIA). Files in
    ISMN's CEOP format (no header line) are left to the ismn package.
    """
    lines = _member_text(archive, file_path).splitlines()
    if not lines or _STAMP.match((lines[0].split() or [""])[0]):
        return
    where = f"{archive}!{file_path}"
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        problem = None
        if len(fields) not in (4, 5):
            problem = f"{len(fields)} columns instead of 4 or 5 ({_COLUMNS}; the provider flag may be empty)"
        elif not (_STAMP.match(fields[0]) and _STAMP.match(fields[1])):
            problem = "no 'YYYY/MM/DD HH:MM' time at its start"
        else:
            try:
                float(fields[2])
            except ValueError:
                problem = f"value {fields[2]!r} is not a number"
        if problem:
            shown = line.strip()[:80].encode("ascii", "backslashreplace").decode()
            raise ProductError(
                where,
                f"line {number}: {problem}: {shown!r}; the file is damaged, "
                "download it again from the ISMN data portal",
            )


def _select(
    table: pd.DataFrame, networks: Sequence[str] | None, stations: Sequence[str] | None, depth_to: float | None
) -> pd.DataFrame:
    keep = np.ones(len(table), dtype=bool)
    if networks is not None:
        keep &= table["network"].isin(list(networks)) | table["folder_network"].isin(list(networks))
    if stations is not None:
        keep &= table["station"].isin(list(stations)) | table["probe"].isin(list(stations))
    keep &= table["variable"].isin([SOIL_MOISTURE, SOIL_TEMPERATURE])
    if depth_to is not None:
        keep &= table["depth_to"] <= depth_to + 1e-9
    return table[keep].reset_index(drop=True)


def read_ismn(
    archive: str | os.PathLike,
    networks: list[str] | None = None,
    stations: list[str] | None = None,
    depth_to: float | None = 0.05,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Probe table and hourly long table of soil moisture and soil temperature sensors.

    Sensors are kept when their lower depth is at most `depth_to` metres (None: all depths).
    """
    archive = Path(archive)
    with open_ismn(archive) as (iface, prefix):
        table = _select(sensor_table(iface, prefix), networks, stations, depth_to)
        frames = []
        for rec in table.itertuples(index=False):
            check_stm(archive, rec.file_path)
            try:
                data = iface.read_ts(int(rec.ismn_idx))
            except Exception as exc:  # noqa: BLE001 - the ismn package raises many kinds on malformed files
                msg = " ".join(str(exc).split())[:200]
                raise ProductError(
                    f"{archive}!{rec.file_path}",
                    f"unreadable ISMN data file ({type(exc).__name__}: {msg}); "
                    "download it again from the ISMN data portal",
                ) from None
            var = rec.variable
            if var not in data.columns:
                raise ProductError(archive, f"{rec.file_path}: no '{var}' column")
            frames.append(
                pd.DataFrame(
                    {
                        "probe": rec.probe,
                        "network": rec.network,
                        "station": rec.station,
                        "sensor": rec.sensor,
                        "variable": var,
                        "depth_from": rec.depth_from,
                        "depth_to": rec.depth_to,
                        "time": pd.DatetimeIndex(data.index),
                        "value": data[var].to_numpy(dtype=float),
                        "flag": data[f"{var}_flag"].astype(str).to_numpy(),
                    }
                )
            )
    probes = table[PROBE_COLUMNS].copy()
    if frames:
        hourly = pd.concat(frames, ignore_index=True)
    else:
        hourly = pd.DataFrame({c: pd.Series(dtype=object) for c in HOURLY_COLUMNS})
    for c in ("probe", "network", "station", "sensor", "variable", "flag"):
        hourly[c] = hourly[c].astype(str)
    hourly["time"] = pd.to_datetime(hourly["time"])
    return probes, hourly[HOURLY_COLUMNS]


def _cluster(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> np.ndarray:
    """Group points into clusters whose members lie within radius_m of the cluster's first point."""
    labels = np.full(len(lat), -1)
    anchors: list[int] = []
    for i in range(len(lat)):
        for k, j in enumerate(anchors):
            dy = (lat[i] - lat[j]) * 111_320.0
            dx = (lon[i] - lon[j]) * 111_320.0 * np.cos(np.radians(lat[j]))
            if np.hypot(dx, dy) <= radius_m:
                labels[i] = k
                break
        else:
            anchors.append(i)
            labels[i] = len(anchors) - 1
    return labels


def sites_of(probes: pd.DataFrame, radius_m: float = SITE_RADIUS_M) -> pd.DataFrame:
    """Soil-moisture sensors with their site id: sensors of a station within radius_m are one site."""
    sm = probes[probes["variable"] == SOIL_MOISTURE].copy()
    sm["site"] = ""
    for probe, group in sm.groupby("probe", sort=False):
        labels = _cluster(group["lat"].to_numpy(float), group["lon"].to_numpy(float), radius_m)
        n = labels.max() + 1
        sm.loc[group.index, "site"] = [probe if n == 1 else f"{probe}-{k + 1}" for k in labels]
    return sm


def daily_soil_moisture(
    hourly: pd.DataFrame,
    sites: pd.DataFrame,
    depth_to: float = 0.05,
    min_hours: int = 12,
    radius_m: float = SITE_RADIUS_M,
) -> pd.DataFrame:
    """Daily site means of good-flagged hourly soil moisture at 0-`depth_to` m.

    `sites` is the probe table of `read_ismn`. Each sensor's daily mean needs at least
    `min_hours` good hours; the sensors of one site are averaged with equal weight. The
    daily maximum soil temperature of the station (any flag, any depth <= 0.1 m) comes
    along as `ts_max` where the station has one.
    """
    table = sites_of(sites, radius_m)
    table = table[table["depth_to"] <= depth_to + 1e-9]
    sm = hourly[(hourly["variable"] == SOIL_MOISTURE) & (hourly["flag"] == GOOD_FLAG)]
    sm = sm.merge(
        table[["probe", "sensor", "depth_from", "depth_to", "site"]],
        on=["probe", "sensor", "depth_from", "depth_to"],
        how="inner",
    )
    columns = ["site", "probe", "network", "station", "date", "sm", "n_hours", "n_sensors", "lat", "lon", "ts_max"]
    if sm.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    sm = sm.assign(date=sm["time"].dt.normalize())
    per_sensor = (
        sm.groupby(["site", "probe", "sensor", "depth_from", "date"])["value"].agg(["mean", "size"]).reset_index()
    )
    per_sensor = per_sensor[per_sensor["size"] >= min_hours]
    daily = (
        per_sensor.groupby(["site", "probe", "date"])
        .agg(sm=("mean", "mean"), n_hours=("size", "sum"), n_sensors=("sensor", "nunique"))
        .reset_index()
    )
    where = (
        table.groupby("site")
        .agg(network=("network", "first"), station=("station", "first"), lat=("lat", "mean"), lon=("lon", "mean"))
        .reset_index()
    )
    daily = daily.merge(where, on="site", how="left")
    ts = hourly[(hourly["variable"] == SOIL_TEMPERATURE) & (hourly["depth_to"] <= 0.1 + 1e-9)]
    if not ts.empty:
        ts_max = (
            ts.assign(date=ts["time"].dt.normalize())
            .groupby(["probe", "date"])["value"]
            .max()
            .rename("ts_max")
            .reset_index()
        )
        daily = daily.merge(ts_max, on=["probe", "date"], how="left")
    else:
        daily["ts_max"] = np.nan
    return daily[columns].sort_values(["site", "date"]).reset_index(drop=True)


SUMMARY_SENSOR_COLUMNS = [
    "network",
    "station",
    "sensor",
    "variable",
    "depth_from",
    "depth_to",
    "lat",
    "lon",
    "elevation",
    "clay",
    "sand",
    "silt",
    "organic_carbon",
    "saturation",
    "landcover",
    "landcover_cci",
    "climate",
    "time_from",
    "time_to",
]


def _json_value(value: object) -> object:
    """A table cell as JSON: None for missing, ISO text for times, plain Python numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def sensor_summaries(table: pd.DataFrame) -> list[dict]:
    """Each sensor of a sensor table with its station's position and static variables, and its data file's name."""
    rows = table.sort_values(["network", "station", "variable", "depth_from", "depth_to", "sensor"])
    return [
        {**{c: _json_value(row[c]) for c in SUMMARY_SENSOR_COLUMNS}, "file": PurePosixPath(row["file_path"]).name}
        for _, row in rows.iterrows()
    ]


def summarize(archive: str | os.PathLike) -> dict:
    """A JSON-serialisable overview of an ISMN download: networks, stations, variables, depths, dates and each
    sensor with its static variables."""
    archive = Path(archive)
    with open_ismn(archive) as (iface, prefix):
        table = sensor_table(iface, prefix)
    networks = sorted(table["network"].unique().tolist())
    stations = {n: sorted(table.loc[table["network"] == n, "station"].unique().tolist()) for n in networks}
    depths = sorted({(float(a), float(b)) for a, b in zip(table["depth_from"], table["depth_to"])})
    by_var = {
        v: sorted({(float(a), float(b)) for a, b in zip(g["depth_from"], g["depth_to"])})
        for v, g in table.groupby("variable")
    }
    t0, t1 = pd.Timestamp(table["time_from"].min()), pd.Timestamp(table["time_to"].max())
    return {
        "archive": archive.name,
        "networks": networks,
        "n_networks": len(networks),
        "stations": stations,
        "n_stations": int(table[["network", "station"]].drop_duplicates().shape[0]),
        "n_sensors": len(table),
        "variables": sorted(table["variable"].unique().tolist()),
        "depths": [list(d) for d in depths],
        "depths_by_variable": {v: [list(d) for d in ds] for v, ds in by_var.items()},
        "time_from": t0.isoformat(),
        "time_to": t1.isoformat(),
        "sensors": sensor_summaries(table),
    }


def probe_table(
    archive: str | os.PathLike,
    networks: list[str] | None = None,
    stations: list[str] | None = None,
    depth_to: float | None = 0.05,
) -> pd.DataFrame:
    """The sensors of an ISMN download (metadata, static variables; no time series) selected as in read_ismn."""
    with open_ismn(Path(archive)) as (iface, prefix):
        table = _select(sensor_table(iface, prefix), networks, stations, depth_to)
    return table[PROBE_COLUMNS].copy()
