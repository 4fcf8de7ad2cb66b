"""TEST DOUBLE of ESA Sen2Cor's L2A_Process, for soilsat's tests only: not an atmospheric correction.

It takes the command line Sen2Cor takes, reads the GIPP and the L1C SAFE folder it is
given, and writes an L2A SAFE the way Sen2Cor names and lays it out:
OUT/S2x_MSIL2A_<datatake>_N9999_R<orbit>_T<tile>_<generation>.SAFE with MTD_MSIL2A.xml
(baseline 99.99, BOA offsets -1000), GRANULE/L2A_T<tile>_A<orbit>_<datatake>/ holding
IMG_DATA/R10m, R20m, R60m (<tile>_<time>_<band>_<res>m.jp2, SCL at 20/60 m) and
QI_DATA/MSK_CLDPRB_20m.jp2 ... MSK_SNWPRB_60m.jp2. Pixels are the demo world's TOA turned
back into BOA with the demo atmosphere (soilsat.demo.reflectance PATH and TRANSMISSION),
with simple brightness tests standing in for Sen2Cor's cloud and snow detection.

Modes (one executable each): ok, fail (logs an error and exits 1, leaving a half-written
SAFE behind) and partial (exits 0 but one band file is missing, as a crashed Sen2Cor run
can leave it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from lxml import etree  # noqa: E402

from soilsat.demo import reflectance as rf  # noqa: E402
from soilsat.demo.sentinel2 import JP2_OPTIONS, to_dn  # noqa: E402
from soilsat.optical.safe import read_band, read_metadata  # noqa: E402

L1C_NAME = re.compile(r"^(S2[ABCD])_MSIL1C_(\d{8}T\d{6})_N\d{4}_R(\d{3})_T(\d{2}[A-Z]{3})_\d{8}T\d{6}\.SAFE$")
LAYOUT = {10: ("B02", "B03", "B04", "B08"),
          20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"),
          60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12")}
NS = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"


def say(text: str) -> None:
    """One Sen2Cor-style log line on stdout."""
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S} (test double) {text}", flush=True)


def block(a: np.ndarray, f: int, how: str = "mean") -> np.ndarray:
    """Aggregate a 2-D array by an integer factor."""
    if f == 1:
        return a
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    b = a[:h, :w].reshape(h // f, f, w // f, f)
    return b.mean(axis=(1, 3)) if how == "mean" else b.max(axis=(1, 3))


def write_jp2(path: Path, data: np.ndarray, crs: str, transform) -> None:
    """A lossless single-band JPEG 2000 file with GeoJP2 georeferencing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", driver="JP2OpenJPEG", width=data.shape[1], height=data.shape[0], count=1,
                           dtype=data.dtype.name, crs=crs, transform=transform, **JP2_OPTIONS) as dst:
            dst.write(data, 1)


def el(parent, tag: str, text: object | None = None, **attrib: object):
    """Append an XML element."""
    e = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = str(text)
    return e


def product_mtd(name: str, meta, generation: dt.datetime, image_files: list[str], granule: str) -> bytes:
    """MTD_MSIL2A.xml as Sen2Cor 2.11 writes it (the parts soilsat reads, plus identification)."""
    root = etree.Element(f"{{{NS}}}Level-2A_User_Product", nsmap={"n1": NS})
    info = el(el(root, f"{{{NS}}}General_Info"), "Product_Info")
    el(info, "PRODUCT_START_TIME", meta.sensing_time)
    el(info, "PRODUCT_URI", name)
    el(info, "PROCESSING_LEVEL", "Level-2A")
    el(info, "PRODUCT_TYPE", "S2MSI2A")
    el(info, "PROCESSING_BASELINE", "99.99")
    el(info, "GENERATION_TIME", f"{generation:%Y-%m-%dT%H:%M:%S}.000000Z")
    dtk = el(info, "Datatake")
    el(dtk, "SPACECRAFT_NAME", meta.spacecraft)
    el(dtk, "DATATAKE_SENSING_START", meta.sensing_time)
    org = el(info, "Product_Organisation")
    gr = el(el(org, "Granule_List"), "Granule", granuleIdentifier=granule, imageFormat="JPEG2000")
    for f in image_files:
        el(gr, "IMAGE_FILE", f)
    pic = el(root[0], "Product_Image_Characteristics")
    qv = el(pic, "QUANTIFICATION_VALUES_LIST")
    el(qv, "BOA_QUANTIFICATION_VALUE", 10000, unit="none")
    el(qv, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
    el(qv, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
    ol = el(pic, "BOA_ADD_OFFSET_VALUES_LIST")
    for i in range(13):
        el(ol, "BOA_ADD_OFFSET", -1000, band_id=i)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def convert(l1c_safe: Path, out_dir: Path, mode: str) -> Path:
    """Write the L2A SAFE of one L1C SAFE folder into out_dir; return its path."""
    m = L1C_NAME.match(l1c_safe.name)
    if not m:
        raise SystemExit(f"L1C product name not recognised: {l1c_safe.name}")
    platform, datatake, orbit, tile = m.groups()
    meta = read_metadata(l1c_safe)
    if meta.level != "L1C":
        raise SystemExit(f"{l1c_safe.name} is not a Level-1C product")
    generation = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    name = f"{platform}_MSIL2A_{datatake}_N9999_R{orbit}_T{tile}_{generation:%Y%m%dT%H%M%S}.SAFE"
    l1c_granule = next(iter(meta.band_files.values())).split("/GRANULE/")[1].split("/")[0]
    granule = "L2A_" + l1c_granule.removeprefix("L1C_")
    safe = out_dir / name
    gdir = safe / "GRANULE" / granule
    say(f"Product: {name}")
    boa, geo = {}, {}
    for b in rf.BANDS:
        if b == "B10":
            continue
        toa = read_band(meta, b)
        i = rf.BAND_INDEX[b]
        boa[b] = np.clip((toa.values - rf.PATH[i]) / rf.TRANSMISSION[i], 0.0001, 1.5).astype(np.float32)
        geo[b] = (toa.attrs["crs"], toa.attrs["transform"], toa.attrs["resolution"])
    crs, t10, _ = geo["B02"]
    x0, y0 = t10[2], t10[5]
    transform = {r: rasterio.Affine(r, 0.0, x0, 0.0, -r, y0) for r in (10, 20, 60)}

    def at(b: str, res: int) -> np.ndarray:
        native = geo[b][2]
        if res < native:  # 60 m bands on the 20 m grid: pixel replication
            k = native // res
            return np.repeat(np.repeat(boa[b], k, axis=0), k, axis=1)
        return block(boa[b], res // native)

    say("Starting L2A scene classification ...")
    toa_blue = block(read_band(meta, "B02").values, 2)
    ndsi = (at("B03", 20) - at("B11", 20)) / (at("B03", 20) + at("B11", 20))
    snow = (ndsi > 0.4) & (at("B03", 20) > 0.3)
    cloud_prob = np.where(snow, 0.0, np.clip((toa_blue - 0.2) / 0.3, 0.0, 1.0) * 100).round().astype(np.uint8)
    snow_prob = np.where(snow & (cloud_prob < 35), 100, 0).astype(np.uint8)
    ndvi = (at("B8A", 20) - at("B04", 20)) / (at("B8A", 20) + at("B04", 20))
    ndwi_green = (at("B03", 20) - at("B8A", 20)) / (at("B03", 20) + at("B8A", 20))
    scl = np.where(ndvi >= 0.35, 4, 5).astype(np.uint8)
    scl[ndwi_green > 0.2] = 6
    scl[snow_prob >= 50] = 11
    scl[cloud_prob >= 35] = 8
    scl[cloud_prob >= 65] = 9
    say("Starting L2A atmospheric correction ...")
    image_files = []
    stem = f"T{tile}_{datatake}"
    for res, bands in LAYOUT.items():
        for b in bands + (("SCL",) if res in (20, 60) else ()):
            if b == "SCL":
                data = scl if res == 20 else block(scl, 3, "max").astype(np.uint8)
            else:
                data = to_dn(at(b, res))
            rel = f"IMG_DATA/R{res}m/{stem}_{b}_{res}m"
            write_jp2(gdir / f"{rel}.jp2", data, crs, transform[res])
            image_files.append(f"GRANULE/{granule}/{rel}")
        say(f"Progress[%]: {res / 60 * 100:5.2f} : resolution {res} m done")
        if mode == "fail":
            say("ERROR: L2A_Tables: cannot allocate the 20 m tables, test double told to fail")
            say("Progress[%]: 100.00 : Application terminated with at least one error.")
            raise SystemExit(1)
    for kind, prob in (("CLDPRB", cloud_prob), ("SNWPRB", snow_prob)):
        write_jp2(gdir / "QI_DATA" / f"MSK_{kind}_20m.jp2", prob, crs, transform[20])
        write_jp2(gdir / "QI_DATA" / f"MSK_{kind}_60m.jp2", block(prob, 3, "max").astype(np.uint8), crs, transform[60])
    tl = next((l1c_safe / "GRANULE" / l1c_granule).glob("MTD_TL.xml"), None)
    if tl is not None:
        (gdir / "MTD_TL.xml").write_bytes(tl.read_bytes().replace(b"Level-1C", b"Level-2A"))
    for d in ("AUX_DATA",):
        (gdir / d).mkdir(exist_ok=True)
    for d in ("DATASTRIP", "HTML", "rep_info"):
        (safe / d).mkdir(exist_ok=True)
    (safe / "MTD_MSIL2A.xml").write_bytes(product_mtd(name, meta, generation, image_files, granule))
    (safe / "INSPIRE.xml").write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>\n')
    (safe / "manifest.safe").write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"/>\n')
    if mode == "partial":
        next(gdir.glob("IMG_DATA/R20m/*_B12_20m.jp2")).unlink()
    say("Progress[%]: 100.00 : Application terminated successfully.")
    return safe


def main(mode: str) -> int:
    """Parse Sen2Cor's command line and run the double in the given mode."""
    p = argparse.ArgumentParser(prog="L2A_Process", description="TEST DOUBLE of Sen2Cor L2A_Process")
    p.add_argument("input_dir")
    p.add_argument("--mode", default="generate_l2a")
    p.add_argument("--resolution", type=int, choices=(10, 20, 60))
    p.add_argument("--output_dir", required=True)
    p.add_argument("--GIP_L2A")
    p.add_argument("--work_dir")
    args = p.parse_args()
    say(f"Sen2Cor 2.11.00 TEST DOUBLE ({mode}), resolution {args.resolution}")
    if args.GIP_L2A:
        gipp = etree.parse(args.GIP_L2A)
        threads = gipp.findtext(".//Nr_Threads")
        say(f"GIPP {args.GIP_L2A}: Nr_Threads {threads}")
    convert(Path(args.input_dir), Path(args.output_dir), mode)
    return 0
