"""Readers for tabular ancillary inputs: daily weather-station CSVs and LUCAS topsoil CSVs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from soilsat.errors import ProductError

# Weather: accepted column names for each normalised column.
WEATHER_COLUMNS = {
    "precipitation": ["precipitation_mm", "precipitation", "prcp", "rr"],
    "tmin": ["tmin_c", "tmin", "tn"],
    "tmean": ["tmean_c", "tmean", "tavg", "tg"],
    "tmax": ["tmax_c", "tmax", "tx"],
}

# LUCAS: the spellings used by the 2009, 2015 and 2018 topsoil releases.
LUCAS_COLUMNS = {
    "point_id": ["POINTID", "POINT_ID", "Point_ID", "PointID"],
    "lat": ["TH_LAT", "GPS_LAT", "Lat", "LAT"],
    "lon": ["TH_LONG", "GPS_LONG", "Long", "LONG", "TH_LON"],
    "clay": ["Clay", "clay", "CLAY"],
    "silt": ["Silt", "silt", "SILT"],
    "sand": ["Sand", "sand", "SAND"],
    "oc": ["OC", "oc"],
}
LUCAS_DATE_COLUMNS = ["SURVEY_DATE", "Survey_date", "survey_date", "SAMPLE_DATE"]


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    if not path.exists():
        raise ProductError(path, "file not found")
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise ProductError(path, f"not a readable CSV table ({type(exc).__name__}: {reason})") from None


def _pick(frame: pd.DataFrame, wanted: dict[str, list[str]], path: Path, what: str) -> dict[str, str]:
    found, missing = {}, []
    for key, names in wanted.items():
        name = next((n for n in names if n in frame.columns), None)
        if name is None:
            missing.append(f"{key} ({' or '.join(names[:2])})")
        else:
            found[key] = name
    if missing:
        raise ProductError(path, f"{what} lacks column(s) {', '.join(missing)}")
    return found


def _header_comments(path: Path) -> dict[str, str | float]:
    meta: dict[str, str | float] = {}
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            if value:
                meta[key.strip()] = value.strip()
    return meta


def read_weather(path: str | os.PathLike) -> pd.DataFrame:
    """A daily weather CSV as a frame indexed by date: precipitation (mm), tmin/tmean/tmax (degC).

    Station metadata from '#' header lines (station_id, latitude, longitude, elevation_m)
    goes to `frame.attrs`.
    """
    path = Path(path)
    frame = _read_csv(path, comment="#")
    if "date" not in frame.columns:
        raise ProductError(path, "weather table lacks column(s) date")
    cols = _pick(frame, WEATHER_COLUMNS, path, "weather table")
    try:
        dates = pd.to_datetime(frame["date"], format="mixed")
    except (ValueError, TypeError) as exc:
        raise ProductError(path, f"unparseable dates in column 'date' ({exc})") from None
    out = pd.DataFrame(
        {k: pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for k, c in cols.items()},
        index=pd.DatetimeIndex(dates, name="date"),
    )
    if out.index.has_duplicates:
        raise ProductError(path, "duplicate dates in weather table")
    out = out.sort_index()
    meta = _header_comments(path)
    for key in ("latitude", "longitude", "elevation_m"):
        if key in meta:
            try:
                meta[key] = float(meta[key])
            except ValueError:
                pass
    out.attrs.update(meta)
    return out


def _survey_year(values: pd.Series) -> np.ndarray:
    text = values.astype(str).str.strip()
    dates = pd.to_datetime(text, format="%d-%m-%y", errors="coerce")
    for fmt in ("%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        missing = dates.isna()
        if not missing.any():
            break
        dates = dates.where(~missing, pd.to_datetime(text, format=fmt, errors="coerce"))
    return dates.dt.year.astype("Int64").to_numpy()


def read_lucas(path: str | os.PathLike, year: int | None = None) -> pd.DataFrame:
    """A LUCAS topsoil CSV as a normalised table: point_id, lat, lon, year, clay, silt, sand, oc.

    Texture and OC are % and g/kg as LUCAS gives them. The year comes from the survey date
    column, else from `year`; rows without coordinates are dropped. Values such as
    '< LOD' become NaN.
    """
    path = Path(path)
    frame = _read_csv(path, low_memory=False)
    cols = _pick(frame, LUCAS_COLUMNS, path, "LUCAS table")
    date_col = next((c for c in LUCAS_DATE_COLUMNS if c in frame.columns), None)
    if date_col is None and year is None:
        raise ProductError(path, f"LUCAS table lacks column(s) survey date ({' or '.join(LUCAS_DATE_COLUMNS[:2])})")
    out = pd.DataFrame({"point_id": frame[cols["point_id"]].astype(str).to_numpy()})
    for key in ("lat", "lon", "clay", "silt", "sand", "oc"):
        out[key] = pd.to_numeric(frame[cols[key]], errors="coerce").to_numpy(float)
    years = _survey_year(frame[date_col]) if date_col else pd.array([year] * len(frame), dtype="Int64")
    if year is not None:
        years = pd.array(years, dtype="Int64").fillna(year)
    out.insert(3, "year", pd.array(years, dtype="Int64"))
    out = out[out["lat"].notna() & out["lon"].notna()].reset_index(drop=True)
    return out
