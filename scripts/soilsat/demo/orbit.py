"""A near-circular, sun-synchronous-like Sentinel-1 orbit for the demo world, and zero-Doppler geometry.

Times are float seconds since an orbit's epoch (a numpy datetime64[ns]); positions and
velocities are Earth-fixed (ECEF, WGS 84) in metres and metres per second. The satellite
looks to the right of its ground track, as Sentinel-1 does.
"""

from __future__ import annotations

import dataclasses
import math
from typing import cast

import numpy as np
import pandas as pd
from scipy import optimize

MU = 3.986004418e14  # Earth's gravitational parameter (m3 s-2)
OMEGA_EARTH = 7.2921151467e-5  # Earth's rotation rate (rad s-1)
WGS84_A = 6378137.0
WGS84_B = 6356752.314245
WGS84_E2 = 1.0 - (WGS84_B / WGS84_A) ** 2
SPEED_OF_LIGHT = 299792458.0
ALTITUDE = 693.0e3
INCLINATION_DEG = 98.18
LOCAL_TIME_HOURS = {"ASCENDING": 18.0, "DESCENDING": 6.0}


@dataclasses.dataclass(frozen=True)
class Orbit:
    """State vectors at regular times: `time` in s since `epoch`, ECEF `position` and `velocity`."""

    epoch: np.datetime64
    time: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    ascending_node_time: float = float("nan")

    @classmethod
    def from_state_vectors(cls, times: np.ndarray, position: np.ndarray, velocity: np.ndarray) -> "Orbit":
        """An orbit from datetime64 times and (n, 3) positions and velocities, e.g. read from an annotation."""
        times = np.asarray(times, dtype="datetime64[ns]")
        epoch = times[0]
        t = (times - epoch).astype("timedelta64[ns]").astype(np.int64) / 1e9
        return cls(epoch, t, np.asarray(position, float).reshape(-1, 3), np.asarray(velocity, float).reshape(-1, 3))

    def seconds(self, times: np.ndarray | pd.Timestamp | str) -> np.ndarray:
        """Seconds since the epoch of datetime-like values."""
        delta = (
            np.asarray(
                pd.to_datetime(times).to_numpy() if not isinstance(times, np.ndarray) else times, dtype="datetime64[ns]"
            )
            - self.epoch
        )
        return np.asarray(delta).astype("timedelta64[ns]").astype(np.int64) / 1e9

    def datetimes(self, t: np.ndarray | float) -> np.ndarray:
        """datetime64[ns] of seconds since the epoch."""
        return self.epoch + np.round(np.asarray(t, float) * 1e9).astype("timedelta64[ns]")

    def interpolate(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity (..., 3) at times t by cubic Hermite interpolation of the state vectors."""
        t = np.asarray(t, dtype=float)
        k = np.clip(np.searchsorted(self.time, t, side="right") - 1, 0, len(self.time) - 2)
        h = (self.time[k + 1] - self.time[k])[..., None]
        s = ((t - self.time[k])[..., None]) / h
        p0, p1 = self.position[k], self.position[k + 1]
        v0, v1 = self.velocity[k] * h, self.velocity[k + 1] * h
        s2, s3 = s * s, s * s * s
        pos = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * v0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * v1
        vel = ((6 * s2 - 6 * s) * p0 + (3 * s2 - 4 * s + 1) * v0 + (-6 * s2 + 6 * s) * p1 + (3 * s2 - 2 * s) * v1) / h
        return pos, vel

    def shifted(self, days: int) -> "Orbit":
        """The same Earth-fixed orbit a whole number of days later (an exact repeat pass)."""
        return dataclasses.replace(self, epoch=self.epoch + np.timedelta64(int(days), "D"))


def geodetic_to_ecef(lon: np.ndarray | float, lat: np.ndarray | float, height: np.ndarray | float) -> np.ndarray:
    """ECEF (..., 3) of WGS 84 longitude, latitude (deg) and ellipsoidal height (m)."""
    lon, lat = np.radians(lon), np.radians(lat)
    height = np.asarray(height, float)
    n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(lat) ** 2)
    return np.stack(
        [
            (n + height) * np.cos(lat) * np.cos(lon),
            (n + height) * np.cos(lat) * np.sin(lon),
            (n * (1 - WGS84_E2) + height) * np.sin(lat),
        ],
        axis=-1,
    )


def ecef_to_geodetic(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS 84 longitude, latitude (deg) and ellipsoidal height (m) of ECEF points (..., 3)."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - WGS84_E2))
    for _ in range(5):
        n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(lat) ** 2)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1 - WGS84_E2 * n / (n + h)))
    n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(lat) ** 2)
    h = p / np.cos(lat) - n
    return np.degrees(np.arctan2(y, x)), np.degrees(lat), h


def ellipsoid_normal(lon: np.ndarray | float, lat: np.ndarray | float) -> np.ndarray:
    """Unit outward ellipsoid normal (..., 3) at geodetic longitude and latitude (deg)."""
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _circular_state(s: np.ndarray | float, u0: float, node0: float) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position and velocity of the circular orbit at s seconds from the reference time."""
    a = WGS84_A + ALTITUDE
    n = math.sqrt(MU / a**3)
    inc = math.radians(INCLINATION_DEG)
    s = np.asarray(s, float)
    u = u0 + n * s
    node = node0 - OMEGA_EARTH * s
    cu, su, cn, sn = np.cos(u), np.sin(u), np.cos(node), np.sin(node)
    ci, si = math.cos(inc), math.sin(inc)
    pos = a * np.stack([cu * cn - su * ci * sn, cu * sn + su * ci * cn, su * si], axis=-1)
    dpos_du = a * np.stack([-su * cn - cu * ci * sn, -su * sn + cu * ci * cn, cu * si], axis=-1)
    dpos_dnode = np.stack([-pos[..., 1], pos[..., 0], np.zeros_like(u)], axis=-1)
    return pos, dpos_du * n - dpos_dnode * OMEGA_EARTH


def _look_geometry(
    sat: np.ndarray, vel: np.ndarray, target: np.ndarray, lon: float, lat: float
) -> tuple[float, float, float]:
    """Doppler cosine, incidence angle (deg) and right-side indicator of a target seen from a state."""
    look = target - sat
    # np.linalg.norm is typed as returning floating; here it is a float64, which is a float.
    doppler = cast(float, float(look @ vel) / (np.linalg.norm(look) * np.linalg.norm(vel)))
    normal = ellipsoid_normal(lon, lat)
    incidence = math.degrees(math.acos(float(-look @ normal) / np.linalg.norm(look)))
    right = float(look @ np.cross(vel, sat / np.linalg.norm(sat)))
    return doppler, incidence, right


def pass_time(lon: float, date: pd.Timestamp | str, direction: str) -> pd.Timestamp:
    """UTC time of the pass over a longitude: 18:00 (ascending) or 06:00 (descending) mean local solar time."""
    hours = LOCAL_TIME_HOURS[direction.upper()] - lon / 15.0
    t = pd.Timestamp(date).normalize() + pd.Timedelta(hours=hours)
    return t.round("us")


def pass_orbit(
    lon: float,
    lat: float,
    date: pd.Timestamp | str,
    direction: str,
    incidence_deg: float = 38.0,
    height: float = 0.0,
    half_span_s: float = 150.0,
    step_s: float = 10.0,
) -> Orbit:
    """State vectors around the pass that sees (lon, lat, height) at zero Doppler and the incidence, right-looking."""
    direction = direction.upper()
    epoch = np.datetime64(pass_time(lon, date, direction).to_datetime64(), "ns")
    target = geodetic_to_ecef(lon, lat, height)
    inc = math.radians(INCLINATION_DEG)
    a = WGS84_A + ALTITUDE
    geocentric = math.atan2(target[2], math.hypot(target[0], target[1]))
    # First guess on a sphere: sub-satellite point a central angle gamma left of the target.
    look = math.asin(WGS84_A / a * math.sin(math.radians(incidence_deg)))
    gamma = math.radians(incidence_deg) - look
    u_guess = math.asin(math.sin(geocentric) / math.sin(inc))
    if direction == "DESCENDING":
        u_guess = math.pi - u_guess
    lon_sub = math.radians(lon) + (-1 if direction == "ASCENDING" else 1) * gamma / math.cos(geocentric)
    node_guess = lon_sub - math.atan2(math.cos(inc) * math.sin(u_guess), math.cos(u_guess))

    def residual(p: np.ndarray) -> list[float]:
        sat, vel = _circular_state(np.float64(0.0), p[0], p[1])
        doppler, incidence, _ = _look_geometry(sat, vel, target, lon, lat)
        return [doppler * 1e3, incidence - incidence_deg]

    sol = optimize.least_squares(residual, [u_guess, node_guess], xtol=1e-15, ftol=1e-15, gtol=1e-15)
    u0, node0 = sol.x
    sat, vel = _circular_state(np.float64(0.0), u0, node0)
    doppler, incidence, right = _look_geometry(sat, vel, target, lon, lat)
    if abs(doppler) > 1e-9 or abs(incidence - incidence_deg) > 1e-6 or right <= 0:
        raise RuntimeError(f"no right-looking {direction} pass found for ({lon}, {lat})")
    t = np.arange(-half_span_s, half_span_s + step_s / 2, step_s)
    pos, v = _circular_state(t, u0, node0)
    n = math.sqrt(MU / a**3)
    anx = -(u0 % (2 * math.pi)) / n
    return Orbit(epoch, t, pos, v, anx)


def zero_doppler(
    orbit: Orbit, xyz: np.ndarray, t0: np.ndarray | float | None = None, iterations: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Zero-Doppler time (s since epoch) and slant range (m) of ECEF ground points (..., 3), by Newton."""
    xyz = np.asarray(xyz, float)
    t = np.full(xyz.shape[:-1], float(np.mean(orbit.time)) if t0 is None else 0.0) + (0.0 if t0 is None else t0)
    for _ in range(iterations):
        pos, vel = orbit.interpolate(t)
        d = xyz - pos
        f = np.einsum("...i,...i->...", d, vel)
        # d/dt [(P - S) . V] = -|V|^2 + (P - S) . A, with the acceleration ~ -mu S/|S|^3.
        acc = -MU * pos / np.linalg.norm(pos, axis=-1, keepdims=True) ** 3
        df = -np.einsum("...i,...i->...", vel, vel) + np.einsum("...i,...i->...", d, acc)
        t = t - f / df
    pos, _ = orbit.interpolate(t)
    return t, np.linalg.norm(xyz - pos, axis=-1)


def ground_point(
    orbit: Orbit,
    t: np.ndarray,
    slant_range: np.ndarray,
    height: np.ndarray | float,
    lon0: np.ndarray | float,
    lat0: np.ndarray | float,
    iterations: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude, latitude (deg) at a height seen at zero Doppler at time t and slant range (Newton, right guess)."""
    t, slant_range = np.broadcast_arrays(np.asarray(t, float), np.asarray(slant_range, float))
    height = np.broadcast_to(np.asarray(height, float), t.shape)
    lon = np.broadcast_to(np.radians(np.asarray(lon0, float)), t.shape).copy()
    lat = np.broadcast_to(np.radians(np.asarray(lat0, float)), t.shape).copy()
    pos, vel = orbit.interpolate(t)
    vhat = vel / np.linalg.norm(vel, axis=-1, keepdims=True)
    for _ in range(iterations):
        sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
        w = np.sqrt(1 - WGS84_E2 * sl**2)
        nrad = WGS84_A / w
        mrad = WGS84_A * (1 - WGS84_E2) / w**3
        p = np.stack(
            [(nrad + height) * cl * co, (nrad + height) * cl * so, (nrad * (1 - WGS84_E2) + height) * sl], axis=-1
        )
        dp_dlat = (mrad + height)[..., None] * np.stack([-sl * co, -sl * so, cl], axis=-1)
        dp_dlon = ((nrad + height) * cl)[..., None] * np.stack([-so, co, np.zeros_like(co)], axis=-1)
        d = p - pos
        r = np.linalg.norm(d, axis=-1)
        f1 = r - slant_range
        f2 = np.einsum("...i,...i->...", d, vhat)
        u = d / r[..., None]
        j11 = np.einsum("...i,...i->...", u, dp_dlat)
        j12 = np.einsum("...i,...i->...", u, dp_dlon)
        j21 = np.einsum("...i,...i->...", vhat, dp_dlat)
        j22 = np.einsum("...i,...i->...", vhat, dp_dlon)
        det = j11 * j22 - j12 * j21
        lat = lat - (j22 * f1 - j12 * f2) / det
        lon = lon - (-j21 * f1 + j11 * f2) / det
    return np.degrees(lon), np.degrees(lat)


def incidence_angle(
    orbit: Orbit, t: np.ndarray, lon: np.ndarray, lat: np.ndarray, height: np.ndarray | float
) -> np.ndarray:
    """Ellipsoid incidence angle (deg) at ground points seen from the satellite at times t."""
    p = geodetic_to_ecef(lon, lat, height)
    pos, _ = orbit.interpolate(t)
    look = pos - p
    cosine = np.einsum("...i,...i->...", look, ellipsoid_normal(lon, lat)) / np.linalg.norm(look, axis=-1)
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


def look_angle(orbit: Orbit, t: np.ndarray, lon: np.ndarray, lat: np.ndarray, height: np.ndarray | float) -> np.ndarray:
    """Off-nadir (elevation) angle (deg) at the satellite between geocentric nadir and the ground points."""
    p = geodetic_to_ecef(lon, lat, height)
    pos, _ = orbit.interpolate(t)
    look = p - pos
    cosine = -np.einsum("...i,...i->...", look, pos) / (np.linalg.norm(look, axis=-1) * np.linalg.norm(pos, axis=-1))
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))
