"""The demo world's probes as an ISMN download in the "header + values" format.

Layout of the zip (one network per region, one folder per station):

    DEMO-<REGION>/<station>/DEMO-<REGION>_DEMO-<REGION>_<station>_sm_0.000000_0.050000_<sensor>_<from>_<to>.stm
    DEMO-<REGION>/<station>/DEMO-<REGION>_DEMO-<REGION>_<station>_ts_0.050000_0.050000_<sensor>_<from>_<to>.stm
    DEMO-<REGION>/<station>/DEMO-<REGION>_DEMO-<REGION>_<station>_static_variables.csv

Each .stm file starts with one fixed-width header line (CSE, network, station, latitude,
longitude, elevation, depth from, depth to, sensor) followed by one line per hour,
"YYYY/MM/DD HH:MM value flag original_flag", CR LF terminated, times in UTC. Hours
without a measurement (logger gaps) are absent, as in ISMN downloads.

Quality flags follow the ISMN quality control: G good, C01 below 0 m3/m3, C02 above
0.6 m3/m3, D01/D03 soil temperature below 0 degC (in situ / GLDAS), D06 spike. Several
flags are joined by commas. The original-flag column is "M" (none supplied by the
provider). The static variables file carries HWSD-like texture, organic carbon and
saturation for 0-0.3 m and 0.3-1 m, ESA CCI land cover, the in-situ CORINE land-cover
code, and the Koeppen-Geiger climate class.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from soilsat.demo.world import CORINE, RegionWorld, WorldSpec, soil_hydraulics
from soilsat.io import atomic_path

SM_INSTRUMENT = "ThetaProbe-ML2X"
TS_INSTRUMENT = "107-Thermistor"
SM_DEPTH = (0.0, 0.05)
TS_DEPTH = (0.05, 0.05)

# ESA CCI land-cover class for each CORINE class of the demo world.
CORINE_TO_CCI = {211: 10, 212: 20, 231: 130, 311: 60, 312: 70, 333: 150, 411: 180, 412: 180, 512: 210}
CCI_NAMES = {
    10: "Cropland, rainfed",
    20: "Cropland, irrigated or post-flooding",
    60: "Tree cover, broadleaved, deciduous, closed to open (>15%)",
    70: "Tree cover, needleleaved, evergreen, closed to open (>15%)",
    130: "Grassland",
    150: "Sparse vegetation (tree, shrub, herbaceous cover) (<15%)",
    180: "Shrub or herbaceous cover, flooded, fresh/saline/brakish water",
    210: "Water",
}
KOEPPEN = {
    "humid": ("Cfb", "Temperate - Without dry season - Warm Summer"),
    "semiarid": ("BSk", "Arid - Steppe - Cold"),
    "boreal": ("Dfc", "Cold - Without dry season - Cold Summer"),
    "mediterranean": ("Csa", "Temperate - Dry Summer - Hot Summer"),
    "subtropical": ("Cfa", "Temperate - Without dry season - Hot Summer"),
    "arid": ("BSh", "Arid - Steppe - Hot"),
}
FROZEN_FLAG = "D01,D03"
SPIKE_FLAG = "D06"
STATIC_COLUMNS = [
    "quantity_name",
    "unit",
    "depth_from[m]",
    "depth_to[m]",
    "value",
    "description",
    "quantity_source_name",
    "quantity_source_description",
    "quantity_source_provider",
    "quantity_source_version",
    "quantity_source_resolution",
    "quantity_source_timerange",
    "quantity_source_url",
]
_HWSD = ["HWSD", "Harmonized World Soil Database v1.2 (demo)", "IIASA", "v1.2", '30"', "", ""]


def network_name(region: str, network: str | None = None) -> str:
    """The ISMN network of a demo region: the one the config names, else DEMO-<REGION> (no underscores:
    ISMN file names split on them)."""
    return (network or "DEMO-" + region.upper()).replace("_", "-")


def header_line(
    network: str, station: str, lat: float, lon: float, elev: float, depth_from: float, depth_to: float, sensor: str
) -> str:
    """The fixed-width first line of an ISMN header+values file."""
    return (
        f"{network:<10s} {network:<15s} {station:<14s}{lat:12.5f}{lon:12.5f}"
        f"{elev:8.2f}{depth_from:8.2f}{depth_to:8.2f} {sensor}"
    )


def format_values(times: pd.DatetimeIndex, values: np.ndarray, flags: np.ndarray) -> str:
    """The value lines of an ISMN header+values file, CR LF terminated."""
    stamps = times.strftime("%Y/%m/%d %H:%M").to_numpy()
    vals = np.char.mod("%8.4f", np.asarray(values, dtype=float))
    lines = [f"{t} {v} {f} M\r\n" for t, v, f in zip(stamps, vals, flags)]
    return "".join(lines)


def _static_csv(world: RegionWorld, row: int, col: int, landcover: int) -> str:
    """The static variables CSV of one station, as ISMN writes it (';'-separated)."""
    truth = world.truth
    r0, r1 = max(0, row - 50), row + 51
    c0, c1 = max(0, col - 50), col + 51

    def window(name: str, scale: float = 1.0) -> float:
        # HWSD is a ~1 km product: use the mean over a 1 km window around the station.
        return float(np.nanmean(truth[name].values[r0:r1, c0:c1])) * scale

    clay, sand = window("clay"), window("sand")
    oc = window("soc", 0.1)  # g/kg -> % weight
    rows = []
    # Subsoil: a little more clay, much less carbon, as HWSD's S_ layer.
    for d0, d1, k_clay, k_oc in [(0.0, 0.3, 1.0, 1.0), (0.3, 1.0, 1.12, 0.45)]:
        c = min(clay * k_clay, 90.0)
        s = max(sand - (c - clay), 1.0)
        si = max(100.0 - c - s, 0.0)
        sat = float(soil_hydraulics(np.array(c), np.array(s))[2])
        for name, unit, value in [
            ("saturation", "m^3*m^-3", f"{sat:.2f}"),
            ("clay fraction", "% weight", f"{c:.2f}"),
            ("organic carbon", "% weight", f"{oc * k_oc:.2f}"),
            ("sand fraction", "% weight", f"{s:.2f}"),
            ("silt fraction", "% weight", f"{si:.2f}"),
        ]:
            rows.append([name, unit, f"{d0:.2f}", f"{d1:.2f}", value, ""] + _HWSD)
    cci = CORINE_TO_CCI.get(int(landcover), 130)
    for year, period in [(2000, "1998-2002"), (2005, "2003-2007"), (2010, "2008-2012")]:
        rows.append(
            [
                "land cover classification",
                "",
                "",
                "",
                str(cci),
                CCI_NAMES[cci],
                f"CCI_landcover_{year}",
                "ESA CCI Land Cover",
                "ESA",
                f"{year}-v1.6.1",
                "300m",
                period,
                "http://www.esa-landcover-cci.org/",
            ]
        )
    rows.append(
        [
            "land cover classification",
            "",
            "",
            "",
            str(int(landcover)),
            CORINE.get(int(landcover), ""),
            "insitu",
            "in situ (CORINE Land Cover level 3 code)",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    kg, kg_desc = KOEPPEN.get(world.spec.climate, KOEPPEN["humid"])
    rows.append(
        [
            "climate classification",
            "",
            "",
            "",
            kg,
            kg_desc,
            "koeppen_geiger_2007",
            "Koeppen-Geiger Climate Classification",
            "",
            "Peel2007",
            "0.1\u00b0",
            "",
            "http://www.hydrol-earth-syst-sci.net/11/1633/2007/",
        ]
    )
    lines = [";".join(STATIC_COLUMNS) + ";"] + [";".join(r) + ";" for r in rows]
    return "\r\n".join(lines) + "\r\n"


def _gaps(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """Day mask of a few multi-day logger gaps (True = no data)."""
    gap = np.zeros(n_days, dtype=bool)
    n_gaps = 1 + n_days // 150
    for _ in range(n_gaps):
        length = int(rng.integers(2, 8))
        if n_days <= length + 2:
            break
        start = int(rng.integers(1, n_days - length - 1))
        gap[start : start + length] = True
    return gap


def _sensor_offsets(n: int) -> list[tuple[float, float]]:
    """Easting/northing offsets (m) of the sensors of one station: a few metres apart."""
    return [(0.0, 0.0), (3.0, -2.5), (-2.0, 3.5)][:n]


def _station_series(
    rng: np.random.Generator,
    world: RegionWorld,
    probe: pd.Series,
    hours: pd.DatetimeIndex,
    probe_noise: float,
) -> tuple[list[dict], dict]:
    """Hourly soil moisture per sensor and soil temperature of one station."""
    truth = world.truth
    n_days = truth.sizes["time"]
    row, col = int(probe["row"]), int(probe["col"])
    daily = truth["sm"].values[:, row, col].astype(float)
    ts_max = truth["soil_temperature_max"].values.astype(float)
    frozen_day = ts_max <= 0.0
    hour = hours.hour.to_numpy()
    day_idx = np.repeat(np.arange(n_days), 24)
    # Small diurnal cycle: drier in the afternoon, zero mean over a full day.
    diurnal_amp = 0.004
    diurnal = -diurnal_amp * np.cos(2 * np.pi * (hour - 3) / 24)
    station_gap = _gaps(rng, n_days)

    sensors = []
    n_sensors = int(probe["sensors"])
    for k, (dx, dy) in enumerate(_sensor_offsets(n_sensors)):
        name = SM_INSTRUMENT if n_sensors == 1 else f"{SM_INSTRUMENT}-{'ABC'[k]}"
        gap = station_gap | (_gaps(rng, n_days) if k > 0 else False)
        value = daily[day_idx] + diurnal + rng.normal(0.0, probe_noise, len(hours))
        flags = np.full(len(hours), "G", dtype=object)
        # Frozen soil: the probe sees only the liquid water, so readings collapse.
        fz = frozen_day[day_idx]
        value[fz] = value[fz] * 0.45
        flags[fz] = FROZEN_FLAG
        # A few spikes.
        n_spikes = 2 + n_days // 60
        spikes = rng.choice(len(hours), size=min(n_spikes, len(hours)), replace=False)
        value[spikes] += rng.uniform(0.12, 0.25, len(spikes))
        flags[spikes] = [f"{f},{SPIKE_FLAG}" if f != "G" else SPIKE_FLAG for f in flags[spikes]]
        value = np.round(value, 4)
        low, high = value < 0.0, value > 0.6
        flags[low & (flags == "G")] = "C01"
        flags[high & (flags == "G")] = "C02"
        keep = ~gap[day_idx]
        sensors.append({"name": name, "dx": dx, "dy": dy, "keep": keep, "value": value, "flag": flags})

    # Soil temperature at 5 cm: daily maximum at 14:00 UTC, equal to the truth plus small noise.
    t_max = ts_max + rng.normal(0.0, 0.1, n_days)
    amp = np.clip(2.0 + 0.25 * (truth["tmax"].values - truth["tmin"].values), 1.0, 8.0)
    shape = (1 - np.cos(2 * np.pi * (hour - 14) / 24)) / 2  # 0 at 14:00, 1 at 02:00
    ts = t_max[day_idx] - amp[day_idx] * shape + rng.normal(0.0, 0.03, len(hours))
    ts = np.minimum(ts, t_max[day_idx])
    ts_series = {
        "name": TS_INSTRUMENT,
        "keep": ~station_gap[day_idx],
        "value": np.round(ts, 2),
        "flag": np.full(len(hours), "G", dtype=object),
    }
    return sensors, ts_series


def _to_lonlat(world: RegionWorld, x: float, y: float) -> tuple[float, float]:
    import pyproj

    t = pyproj.Transformer.from_crs(world.grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return float(lon), float(lat)


def station_files(world: RegionWorld, spec: WorldSpec, rng: np.random.Generator) -> dict[str, str]:
    """Every file of one region's network: archive member name -> text."""
    net = network_name(world.spec.name, world.spec.network)
    days = pd.DatetimeIndex(world.truth["time"].values)
    hours = pd.date_range(days[0], days[-1] + pd.Timedelta(hours=23), freq="h")
    elevation = world.truth["elevation"].values
    files: dict[str, str] = {}
    for _, probe in world.probes.iterrows():
        station = str(probe["probe"]).replace("_", "-").replace(" ", "-")
        folder = f"{net}/{station}"
        row, col = int(probe["row"]), int(probe["col"])
        elev = float(elevation[row, col])
        sensors, ts = _station_series(rng, world, probe, hours, spec.probe_noise)

        def write(var: str, depth: tuple[float, float], name: str, lon: float, lat: float, s: dict) -> None:
            keep = s["keep"]
            t = hours[keep]
            span = f"{t[0]:%Y%m%d}_{t[-1]:%Y%m%d}"
            fname = f"{net}_{net}_{station}_{var}_{depth[0]:.6f}_{depth[1]:.6f}_{name}_{span}.stm"
            head = header_line(net, station, lat, lon, elev, depth[0], depth[1], name)
            files[f"{folder}/{fname}"] = head + "\r\n" + format_values(t, s["value"][keep], s["flag"][keep])

        for s in sensors:
            lon, lat = _to_lonlat(world, float(probe["x"]) + s["dx"], float(probe["y"]) + s["dy"])
            write("sm", SM_DEPTH, s["name"], lon, lat, s)
        write("ts", TS_DEPTH, ts["name"], float(probe["lon"]), float(probe["lat"]), ts)
        files[f"{folder}/{net}_{net}_{station}_static_variables.csv"] = _static_csv(
            world, row, col, int(probe["landcover"])
        )
    return files


def _metadata_xml(networks: list[str], spec: WorldSpec) -> str:
    """A short ISO 19139-style Metadata.xml, as ISMN ships (the ismn package ignores it)."""
    nets = "".join(
        f"\n      <gmd:keyword><gco:CharacterString>{n}</gco:CharacterString></gmd:keyword>" for n in networks
    )
    return (
        '<?xml version="1.0"?>\n'
        '<gmd:MD_Metadata xmlns:gco="http://www.isotc211.org/2005/gco" '
        'xmlns:gmd="http://www.isotc211.org/2005/gmd">\n'
        "  <gmd:fileIdentifier><gco:CharacterString>Metadata</gco:CharacterString></gmd:fileIdentifier>\n"
        "  <gmd:dateStamp><gco:Date>" + f"{spec.end:%Y-%m-%d}" + "</gco:Date></gmd:dateStamp>\n"
        "  <gmd:identificationInfo><gmd:MD_DataIdentification>\n"
        "    <gmd:citation><gmd:CI_Citation><gmd:title><gco:CharacterString>"
        "International Soil Moisture Network (demo world download)</gco:CharacterString></gmd:title>"
        "</gmd:CI_Citation></gmd:citation>\n"
        "    <gmd:descriptiveKeywords><gmd:MD_Keywords>" + nets + "\n    </gmd:MD_Keywords></gmd:descriptiveKeywords>\n"
        "  </gmd:MD_DataIdentification></gmd:identificationInfo>\n"
        "</gmd:MD_Metadata>\n"
    )


def write_ismn_archive(world: list[RegionWorld], spec: WorldSpec, path: Path) -> dict:
    """Write the probes of every region as one ISMN header+values zip; return its index entry."""
    path = Path(path)
    rng = np.random.default_rng([spec.seed, 3])
    members: dict[str, str] = {}
    networks = []
    n_stations = 0
    for region in world:
        members.update(station_files(region, spec, rng))
        network = network_name(region.spec.name, region.spec.network)
        networks += [network] if network not in networks else []
        n_stations += len(region.probes)
    members["Metadata.xml"] = _metadata_xml(networks, spec)
    stamp = (spec.end.year, spec.end.month, spec.end.day, 0, 0, 0)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for folder in sorted(
                {m.rsplit("/", 1)[0] for m in members if "/" in m} | {m.split("/", 1)[0] for m in members if "/" in m}
            ):
                info = zipfile.ZipInfo(folder + "/", date_time=stamp)
                info.external_attr = 0o40755 << 16
                zf.writestr(info, b"")
            for name in sorted(members):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, members[name].encode("utf-8"))
    data = path.read_bytes()
    return {
        "source": "ismn",
        "name": path.name,
        "path": path.name,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "networks": networks,
        "stations": n_stations,
    }
