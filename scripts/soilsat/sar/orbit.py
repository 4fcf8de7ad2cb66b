"""Sentinel-1 orbits: ESA's EOF orbit files, the annotation orbit, interpolation and zero-Doppler geometry.

An orbit is a table of Earth-fixed (ECEF, WGS 84) state vectors: times in float seconds
since an epoch (``numpy.datetime64[ns]``), positions in metres, velocities in metres per
second. Two interpolators serve it:

* ``lagrange`` (default for EOF files, as SNAP does): the position and the velocity are
  each interpolated by the Lagrange polynomial through the ``degree + 1`` vectors nearest
  in time (degree 3: four vectors, about 2 mm on Sentinel-1's 10 s vectors);
* ``polynomial``: one least-squares polynomial of ``degree`` in time through all positions
  and velocities together (the velocity is its derivative). On the 10 s annotation orbit,
  degree 5 agrees with ESA's geolocation grid to well under a millimetre of slant range.
  It suits an annotation's few minutes of vectors, not a day-long EOF file.

The zero-Doppler time of a ground point solves (P - S(t)) . V(t) = 0 by Newton iteration,
geometrically (no light-time or bistatic term): that is how ESA's GRD geolocation grids are
annotated, to 0.06 line on IPF 2.70 and 0.001 line on IPF 3.40 (see geolocation_check).

The kernels are written with numba (they run per pixel in geocoding, where a
vectorised numpy form would allocate several full-size temporaries per Newton step).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from lxml import etree

from soilsat.errors import ProductError

log = logging.getLogger(__name__)

SPEED_OF_LIGHT = 299_792_458.0
LAGRANGE = 0
POLYNOMIAL = 1
METHODS = {"lagrange": LAGRANGE, "polynomial": POLYNOMIAL}
DEFAULT_MARGIN_S = 60.0
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
_EOF_NAME = re.compile(
    r"^(?P<mission>S1[A-D_])_OPER_AUX_(?P<kind>POEORB|RESORB)_OPOD_(?P<created>\d{8}T\d{6})_"
    r"V(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})"
)


# --------------------------------------------------------------------------- the orbit


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Orbit:
    """State vectors and how to interpolate them; `time` in s since `epoch`, ECEF metres and m/s."""

    epoch: np.datetime64
    time: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    method: str = "lagrange"
    degree: int = 3
    source: str = "annotation"
    coefficients: np.ndarray | None = dataclasses.field(default=None, repr=False)  # (degree + 1, 3), polynomial only
    time_centre: float = 0.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"orbit interpolation {self.method!r} is not one of {sorted(METHODS)}")
        n = len(self.time)
        if n < self.degree + 1:
            raise ValueError(f"{self.source}: {n} state vectors are too few for degree {self.degree}")
        if np.any(np.diff(self.time) <= 0):
            raise ValueError(f"{self.source}: state vector times are not strictly increasing")
        if self.method == "polynomial" and self.coefficients is None:
            centre, scale, coef = _fit_polynomial(self.time, self.position, self.velocity, self.degree)
            object.__setattr__(self, "coefficients", coef)
            object.__setattr__(self, "time_centre", centre)
            object.__setattr__(self, "time_scale", scale)
        if self.coefficients is None:
            object.__setattr__(self, "coefficients", np.zeros((1, 3)))

    @classmethod
    def from_state_vectors(
        cls,
        times: np.ndarray,
        position: np.ndarray,
        velocity: np.ndarray,
        method: str = "lagrange",
        degree: int = 3,
        source: str = "state vectors",
    ) -> Orbit:
        """An orbit from datetime64 times and (n, 3) positions and velocities."""
        times = np.asarray(times, dtype="datetime64[ns]")
        order = np.argsort(times, kind="stable")
        times = times[order]
        keep = np.r_[True, np.diff(times) > np.timedelta64(0, "ns")]  # EOF files may repeat a vector
        times = times[keep]
        epoch = times[0]
        t = (times - epoch).astype(np.int64) / 1e9
        pos = np.asarray(position, float).reshape(-1, 3)[order][keep]
        vel = np.asarray(velocity, float).reshape(-1, 3)[order][keep]
        return cls(epoch, t, np.ascontiguousarray(pos), np.ascontiguousarray(vel), method, int(degree), source)

    def seconds(self, times) -> np.ndarray:
        """Seconds since the epoch of datetime-like values (datetime, datetime64, Timestamp or arrays of them)."""
        values = np.asarray(
            pd.to_datetime(np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))).to_numpy(), dtype="datetime64[ns]"
        )
        out = (values - self.epoch).astype(np.int64) / 1e9
        return out if np.ndim(times) else out[0]

    def datetimes(self, t: np.ndarray | float) -> np.ndarray:
        """datetime64[ns] of seconds since the epoch."""
        return self.epoch + np.round(np.asarray(t, float) * 1e9).astype("timedelta64[ns]")

    def covers(self, t0: float, t1: float) -> bool:
        """Whether [t0, t1] (s since the epoch) lies within the state vectors' span."""
        return bool(self.time[0] <= t0 and t1 <= self.time[-1])

    def crop(self, t0: float, t1: float, pad: int = 8) -> Orbit:
        """The vectors around [t0, t1] (s since the epoch) plus `pad` on each side, same epoch and method."""
        i0 = max(int(np.searchsorted(self.time, t0)) - pad, 0)
        i1 = min(int(np.searchsorted(self.time, t1, side="right")) + pad, len(self.time))
        return dataclasses.replace(
            self,
            time=self.time[i0:i1].copy(),
            position=self.position[i0:i1].copy(),
            velocity=self.velocity[i0:i1].copy(),
            coefficients=None if self.method == "polynomial" else self.coefficients,
        )

    def kernel_args(self) -> tuple:
        """The arrays the numba kernels take, in their order."""
        return (
            METHODS[self.method],
            self.degree,
            self.time,
            self.position,
            self.velocity,
            self.coefficients,
            self.time_centre,
            self.time_scale,
        )

    def state(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position, velocity and acceleration (..., 3) at times t (s since the epoch)."""
        t = np.asarray(t, dtype=float)
        flat = np.ascontiguousarray(t.ravel())
        out = np.empty((flat.size, 9))
        _state_many(flat, out, *self.kernel_args())
        shape = t.shape + (3,)
        return out[:, 0:3].reshape(shape), out[:, 3:6].reshape(shape), out[:, 6:9].reshape(shape)


def _fit_polynomial(time: np.ndarray, position: np.ndarray, velocity: np.ndarray, degree: int):
    """Least-squares polynomial of position in normalised time through positions and velocities.

    Written here because numpy's polyfit cannot weigh a function and its derivative in one fit.
    """
    centre = 0.5 * (time[0] + time[-1])
    scale = max(0.5 * (time[-1] - time[0]), 1.0)
    u = (time - centre) / scale
    k = np.arange(degree + 1)
    a_pos = u[:, None] ** k
    a_vel = np.where(k > 0, k * u[:, None] ** np.maximum(k - 1, 0), 0.0) / scale
    # Velocities weigh as positions over one second; both are known far better than the fit needs.
    a = np.vstack([a_pos, a_vel])
    b = np.vstack([position, velocity])
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    return float(centre), float(scale), np.ascontiguousarray(coef)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _polynomial_state(t, out, coef, centre, scale):
    """Position, velocity, acceleration of the fitted polynomial at time t into out[0:9]."""
    u = (t - centre) / scale
    p0 = p1 = p2 = v0 = v1 = v2 = a0 = a1 = a2 = 0.0
    for k in range(coef.shape[0] - 1, -1, -1):  # Horner with two derivatives, the three axes interleaved
        a0, a1, a2 = a0 * u + v0, a1 * u + v1, a2 * u + v2
        v0, v1, v2 = v0 * u + p0, v1 * u + p1, v2 * u + p2
        p0, p1, p2 = p0 * u + coef[k, 0], p1 * u + coef[k, 1], p2 * u + coef[k, 2]
    s2 = 2.0 / (scale * scale)
    out[0], out[1], out[2] = p0, p1, p2
    out[3], out[4], out[5] = v0 / scale, v1 / scale, v2 / scale
    out[6], out[7], out[8] = a0 * s2, a1 * s2, a2 * s2


@numba.njit(cache=True, error_model="numpy", inline="always")
def _lagrange_state(t, out, degree, times, pos, vel):
    """Position and velocity by Lagrange interpolation through the degree + 1 nearest vectors, and the
    derivative of the velocity's interpolant as acceleration, at time t into out[0:9]."""
    n = times.shape[0]
    m = degree + 1
    # first of the m vectors nearest in time (t between the middle two when possible)
    j = np.searchsorted(times, t) - (m + 1) // 2
    if j < 0:
        j = 0
    if j > n - m:
        j = n - m
    for c in range(9):
        out[c] = 0.0
    for i in range(m):
        ti = times[j + i]
        li = 1.0
        dli = 0.0
        for k in range(m):
            if k == i:
                continue
            tk = times[j + k]
            # derivative of the product by the product rule, accumulated alongside it
            dli = dli * (t - tk) / (ti - tk) + li / (ti - tk)
            li = li * (t - tk) / (ti - tk)
        for c in range(3):
            out[c] += li * pos[j + i, c]
            out[3 + c] += li * vel[j + i, c]
            out[6 + c] += dli * vel[j + i, c]


@numba.njit(cache=True, error_model="numpy", inline="always")
def satellite_state(t, out, method, degree, times, pos, vel, coef, centre, scale):
    """Position, velocity, acceleration at time t into out[0:9] (one point)."""
    if method == POLYNOMIAL:
        _polynomial_state(t, out, coef, centre, scale)
    else:
        _lagrange_state(t, out, degree, times, pos, vel)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _state_many(t, out, method, degree, times, pos, vel, coef, centre, scale):
    """satellite_state for every element of t."""
    for i in numba.prange(t.shape[0]):
        satellite_state(t[i], out[i], method, degree, times, pos, vel, coef, centre, scale)


@numba.njit(cache=True, error_model="numpy", inline="always")
def zero_doppler_point(px, py, pz, t0, buf, method, degree, times, pos, vel, coef, centre, scale):
    """Zero-Doppler time and slant range of one ECEF point by Newton from t0; buf holds 9 floats."""
    t = t0
    converged = False
    for _ in range(30):
        satellite_state(t, buf, method, degree, times, pos, vel, coef, centre, scale)
        dx = px - buf[0]
        dy = py - buf[1]
        dz = pz - buf[2]
        f = dx * buf[3] + dy * buf[4] + dz * buf[5]
        df = -(buf[3] * buf[3] + buf[4] * buf[4] + buf[5] * buf[5]) + dx * buf[6] + dy * buf[7] + dz * buf[8]
        step = f / df
        t -= step
        if abs(step) < 1e-6:
            # Newton converges quadratically: after a step under a microsecond the time is exact to far
            # below a nanosecond, and the state moves to it to first order (0.5 |a| step^2 < 1e-11 m)
            buf[0] -= step * buf[3]
            buf[1] -= step * buf[4]
            buf[2] -= step * buf[5]
            converged = True
            break
    if not converged:
        satellite_state(t, buf, method, degree, times, pos, vel, coef, centre, scale)
    dx = px - buf[0]
    dy = py - buf[1]
    dz = pz - buf[2]
    return t, np.sqrt(dx * dx + dy * dy + dz * dz)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _zero_doppler_many(xyz, t0, t_out, r_out, method, degree, times, pos, vel, coef, centre, scale):
    """zero_doppler_point for every row of xyz (n, 3)."""
    for i in numba.prange(xyz.shape[0]):
        buf = np.empty(9)
        t_out[i], r_out[i] = zero_doppler_point(
            xyz[i, 0], xyz[i, 1], xyz[i, 2], t0, buf, method, degree, times, pos, vel, coef, centre, scale
        )


def zero_doppler(orbit: Orbit, xyz: np.ndarray, t0: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Zero-Doppler time (s since the orbit epoch) and slant range (m) of ECEF points (..., 3)."""
    xyz = np.asarray(xyz, dtype=float)
    flat = np.ascontiguousarray(xyz.reshape(-1, 3))
    t = np.empty(flat.shape[0])
    r = np.empty(flat.shape[0])
    start = 0.5 * (orbit.time[0] + orbit.time[-1]) if t0 is None else float(t0)
    _zero_doppler_many(flat, start, t, r, *orbit.kernel_args())
    return t.reshape(xyz.shape[:-1]), r.reshape(xyz.shape[:-1])


# --------------------------------------------------------------------------- WGS 84


WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)


def geodetic_to_ecef(lon: np.ndarray, lat: np.ndarray, height: np.ndarray) -> np.ndarray:
    """ECEF (..., 3) of WGS 84 longitude, latitude (degrees) and ellipsoidal height (m)."""
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    height = np.asarray(height, float)
    sl = np.sin(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sl * sl)
    return np.stack(
        [
            (n + height) * np.cos(lat) * np.cos(lon),
            (n + height) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - WGS84_E2) + height) * sl,
        ],
        axis=-1,
    )


# --------------------------------------------------------------------------- sources


def annotation_orbit(annotation, method: str = "polynomial", degree: int | None = None) -> Orbit:
    """The orbit of a product annotation (degree 5 polynomial by default, Lagrange degree 3 on request)."""
    o = annotation.orbit
    deg = degree if degree is not None else (5 if method == "polynomial" else 3)
    return Orbit.from_state_vectors(
        o["time"].to_numpy("datetime64[ns]"),
        o[["x", "y", "z"]].to_numpy(float),
        o[["vx", "vy", "vz"]].to_numpy(float),
        method=method,
        degree=deg,
        source="annotation",
    )


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class EofFile:
    """One ESA orbit file: its identity, validity period and state vectors."""

    path: Path
    mission: str  # S1A, S1B, ... (S1_ when the file serves any unit)
    kind: str  # POEORB or RESORB
    created: dt.datetime
    validity_start: dt.datetime
    validity_stop: dt.datetime
    orbit: Orbit


def _eof_time(text: str | None, where: str, what: str) -> dt.datetime:
    """A time of an EOF file ('UTC=2021-12-22T22:59:42.000000')."""
    value = (text or "").strip()
    if "=" in value:
        value = value.split("=", 1)[1]
    try:
        return dt.datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        raise ProductError(where, f"{what} is not a time: {text!r}") from None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _first(node: etree._Element, path: str) -> etree._Element | None:
    """The first element along a '/'-separated path of local names (namespaces ignored)."""
    current = [node]
    for part in path.split("/"):
        current = [c for n in current for c in n if _local(c.tag) == part]
        if not current:
            return None
    return current[0]


def check_osv_count(declared: str | None, held: int, where: str) -> None:
    """ProductError naming the file when List_of_OSVs declares another number of state vectors than it holds."""
    if declared is None:
        return
    try:
        count = int(declared)
    except ValueError:
        raise ProductError(where, f"List_of_OSVs has a non-numeric count={declared!r}") from None
    if count != held:
        missing = f": {count - held} OSV missing" if count > held else ""
        raise ProductError(
            where,
            f"List_of_OSVs says count={count} but holds {held} OSV{missing} (truncated or "
            "edited file; download the orbit file again)",
        )


def read_eof(path: str | os.PathLike, method: str = "lagrange", degree: int = 3) -> EofFile:
    """Read a POEORB/RESORB Earth Explorer orbit file (ProductError naming the file when malformed)."""
    path = Path(path)
    where = str(path)
    try:
        root = etree.fromstring(path.read_bytes(), parser=_PARSER)
    except FileNotFoundError:
        raise ProductError(where, "no such orbit file") from None
    except OSError as exc:
        raise ProductError(where, f"orbit file unreadable ({exc})") from None
    except etree.XMLSyntaxError as exc:
        raise ProductError(where, f"orbit file XML does not parse ({exc})") from None
    if _local(root.tag) != "Earth_Explorer_File":
        raise ProductError(where, f"not an Earth Explorer orbit file (root element {_local(root.tag)!r})")
    header = _first(root, "Earth_Explorer_Header/Fixed_Header")
    if header is None:
        raise ProductError(where, "missing element Earth_Explorer_Header/Fixed_Header")
    start_el = _first(header, "Validity_Period/Validity_Start")
    stop_el = _first(header, "Validity_Period/Validity_Stop")
    if start_el is None or stop_el is None:
        raise ProductError(where, "missing element Fixed_Header/Validity_Period/Validity_Start or Validity_Stop")
    start = _eof_time(start_el.text, where, "Validity_Start")
    stop = _eof_time(stop_el.text, where, "Validity_Stop")
    name_match = _EOF_NAME.match(path.name)
    created_el = _first(header, "Source/Creation_Date")
    if created_el is not None:
        created = _eof_time(created_el.text, where, "Creation_Date")
    elif name_match:
        created = dt.datetime.strptime(name_match["created"], "%Y%m%dT%H%M%S")
    else:
        raise ProductError(where, "no Fixed_Header/Source/Creation_Date and no creation time in the file name")
    mission_el = _first(header, "Mission")
    mission_text = (mission_el.text or "").strip() if mission_el is not None else ""
    m = re.match(r"Sentinel-1([A-D])", mission_text, re.IGNORECASE)
    mission = f"S1{m.group(1).upper()}" if m else (name_match["mission"] if name_match else "S1_")
    type_el = _first(header, "File_Type")
    kind = (type_el.text or "").strip()[-6:] if type_el is not None else (name_match["kind"] if name_match else "")

    osvs = _first(root, "Data_Block/List_of_OSVs")
    if osvs is None:
        raise ProductError(where, "missing element Data_Block/List_of_OSVs")
    items = [c for c in osvs if _local(c.tag) == "OSV"]
    if not items:
        raise ProductError(where, "List_of_OSVs holds no OSV")
    check_osv_count(osvs.get("count"), len(items), where)
    times, values = [], []
    for k, osv in enumerate(items):
        fields = {_local(c.tag): (c.text or "").strip() for c in osv}
        if "UTC" not in fields:
            raise ProductError(where, f"OSV {k + 1} has no UTC time")
        times.append(np.datetime64(_eof_time(fields["UTC"], where, f"OSV {k + 1} UTC"), "ns"))
        try:
            values.append([float(fields[a]) for a in ("X", "Y", "Z", "VX", "VY", "VZ")])
        except KeyError as exc:
            raise ProductError(where, f"OSV {k + 1} has no {exc.args[0]}") from None
        except ValueError:
            raise ProductError(where, f"OSV {k + 1} holds a non-numeric coordinate") from None
    arr = np.array(values)
    try:
        orbit = Orbit.from_state_vectors(
            np.array(times), arr[:, :3], arr[:, 3:], method=method, degree=degree, source=path.name
        )
    except ValueError as exc:
        raise ProductError(where, str(exc)) from None
    return EofFile(path, mission, kind, created, start, stop, orbit)


def select_eof(
    eofs: Iterable[EofFile],
    start: dt.datetime,
    stop: dt.datetime,
    mission: str | None = None,
    margin_s: float = DEFAULT_MARGIN_S,
) -> EofFile | None:
    """The orbit file whose validity covers [start - margin, stop + margin] for the mission; newest production wins."""
    margin = dt.timedelta(seconds=margin_s)
    fits = [
        e
        for e in eofs
        if e.validity_start <= start - margin
        and stop + margin <= e.validity_stop
        and (mission is None or e.mission in (mission.upper(), "S1_"))
        and e.orbit.covers(*e.orbit.seconds(np.array([start - margin, stop + margin], dtype="datetime64[ns]")))
    ]
    if not fits:
        return None
    # newest production wins; on equal creation a precise orbit beats a restituted one
    return max(fits, key=lambda e: (e.created, e.kind == "POEORB"))


def product_orbit(
    annotation,
    start: dt.datetime,
    stop: dt.datetime,
    mission: str | None = None,
    eof_paths: Sequence[str | os.PathLike] = (),
    margin_s: float = DEFAULT_MARGIN_S,
) -> Orbit:
    """The orbit to geocode a product with: the best EOF file among `eof_paths`, else the annotation's (with a
    warning)."""
    chosen = select_eof((read_eof(p) for p in eof_paths), start, stop, mission, margin_s)
    if chosen is None:
        log.warning(
            "no orbit file covers %s .. %s (+- %.0f s) among %d given; using the annotation orbit",
            start.isoformat(),
            stop.isoformat(),
            margin_s,
            len(eof_paths),
        )
        return annotation_orbit(annotation)
    t0, t1 = chosen.orbit.seconds(np.array([start, stop], dtype="datetime64[ns]"))
    log.info("orbit from %s (%s, created %s)", chosen.path.name, chosen.kind, chosen.created.isoformat())
    return chosen.orbit.crop(t0 - margin_s, t1 + margin_s)
