"""STAND-IN for ESA Sen2Cor's L2A_Process, for soilsat's tests only: not an atmospheric correction.

It takes the command line Sen2Cor takes and is as strict as Sen2Cor where soilsat meets it
(read from Sen2Cor's L2A_Process.py, L2A_Config.py, L2A_XmlParser.py and L2A_Logger.py):

- `--help` names its version ("... Version: 2.11.0, created: ..."), SEN2COR_STANDIN_VERSION
  sets another;
- its home is $SEN2COR_HOME, else ~/sen2cor/<major.minor>; it creates <home>/log with
  os.mkdir (a home that does not exist or cannot be written crashes it) and writes its report
  there, <L2A id>_<time>_report.xml, in Sen2Cor's <check><inspection .../><message> entries;
- it validates the GIPP (--GIP_L2A, else <home>/cfg/L2A_GIPP.xml) against the L2A_GIPP.xsd
  of its installation (lib/python3/site-packages/sen2cor/cfg); an invalid GIPP, a product of a
  spacecraft it does not know (S2C/S2D before 2.12) or an L1C SAFE without the AUX_DATA,
  HTML or rep_info it copies end the run "with at least one error" and exit status 0, as
  Sen2Cor's main() can;
- --resolution 10 makes 20 m and then 10 m bands, 20 only 20 m, 60 only 60 m; 60 m bands come
  with a 20 m run only when the GIPP says Downsample_20_to_60; B08 exists at 10 m only;
- the baseline is --processing_baseline or the Baseline_Version of its L2A_PB_GIPP.xml
  (99.99), in the product name (N9999) and metadata; versions from 2.10 write BOA_ADD_OFFSET
  (-1000, DN = reflectance x 10000 + 1000), older ones none (DN = reflectance x 10000).

It writes an L2A SAFE the way Sen2Cor names and lays it out: OUT/S2x_MSIL2A_<datatake>_N<baseline>
_R<orbit>_T<tile>_<generation>.SAFE with MTD_MSIL2A.xml, GRANULE/L2A_T<tile>_A<orbit>_<datatake>/
IMG_DATA/R<res>m/<tile>_<time>_<band>_<res>m.jp2 and QI_DATA/MSK_CLDPRB_<res>m.jp2 and MSK_SNWPRB.
Pixels are the demo world's TOA turned back into BOA with the demo atmosphere (soilsat.demo.
reflectance PATH and TRANSMISSION), with brightness tests standing in for cloud and snow detection.

Modes (one executable each in bin/): ok, failing (logs an error and exits 1, leaving a
half-written SAFE), partial (exits 0 but a band file is missing), silent (logs an error and
exits 0 with no product) and hanging (never finishes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from lxml import etree  # noqa: E402

from soilsat.demo import reflectance as rf  # noqa: E402
from soilsat.demo.sentinel2 import JP2_OPTIONS  # noqa: E402
from soilsat.optical.safe import read_band, read_metadata  # noqa: E402

INSTALL = Path(__file__).resolve().parent
CFG = INSTALL / "lib" / "python3" / "site-packages" / "sen2cor" / "cfg"
L1C_NAME = re.compile(r"^(S2[ABCD])_MSIL1C_(\d{8}T\d{6})_N\d{4}_R(\d{3})_T(\d{2}[A-Z]{3})_\d{8}T\d{6}\.SAFE$")
BANDS_AT = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"),
    60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12"),
}
NS = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
COPIED = ("AUX_DATA", "HTML", "rep_info")


class Report:
    """Sen2Cor's report file, written as its L2A_Logger writes it (entries appended as they come)."""

    def __init__(self, path: Path):
        self.path = path
        path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Sen2Cor_Level-2A_Report_File>\n')

    def entry(self, level: str, message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000")
        with open(self.path, "a") as f:
            f.write(
                f'<check>\n<inspection execution="{now}" level="{level}" process="{os.getpid()}" '
                f'module="L2A_Process" function="main" line="1"/>\n'
                f'<message contentType="Text">{message}</message>\n</check>\n'
            )


def version() -> tuple[int, int, int]:
    """The stand-in's Sen2Cor version."""
    return tuple(int(v) for v in os.environ.get("SEN2COR_STANDIN_VERSION", "2.11.0").split("."))


def say(text: str) -> None:
    """One Sen2Cor-style line on stdout."""
    print(text, flush=True)


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
        with rasterio.open(
            path,
            "w",
            driver="JP2OpenJPEG",
            width=data.shape[1],
            height=data.shape[0],
            count=1,
            dtype=data.dtype.name,
            crs=crs,
            transform=transform,
            **JP2_OPTIONS,
        ) as dst:
            dst.write(data, 1)


def el(parent, tag: str, text: object | None = None, **attrib: object):
    """Append an XML element."""
    e = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = str(text)
    return e


def product_mtd(
    name: str, meta, generation: dt.datetime, image_files: list[str], granule: str, baseline: str, offsets: bool
) -> bytes:
    """MTD_MSIL2A.xml as Sen2Cor writes it (the parts soilsat reads, plus identification)."""
    root = etree.Element(f"{{{NS}}}Level-2A_User_Product", nsmap={"n1": NS})
    info = el(el(root, f"{{{NS}}}General_Info"), "Product_Info")
    el(info, "PRODUCT_START_TIME", meta.sensing_time)
    el(info, "PRODUCT_URI", name)
    el(info, "PROCESSING_LEVEL", "Level-2A")
    el(info, "PRODUCT_TYPE", "S2MSI2A")
    el(info, "PROCESSING_BASELINE", baseline)
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
    if offsets:
        ol = el(pic, "BOA_ADD_OFFSET_VALUES_LIST")
        for i in range(13):
            el(ol, "BOA_ADD_OFFSET", -1000, band_id=i)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def dn(reflectance: np.ndarray, offsets: bool) -> np.ndarray:
    """uint16 digital numbers: reflectance x 10000 (+ 1000 with BOA_ADD_OFFSET -1000), never 0 or 65535."""
    value = np.round(np.asarray(reflectance, dtype=np.float32) * 10000) + (1000 if offsets else 0)
    return np.clip(value, 1, 65534).astype(np.uint16)


def resolutions(requested: int | None, downsample: bool) -> tuple[int, ...]:
    """The resolutions a run makes: 10 means 20 then 10; 60 m with a 20 m run only with Downsample_20_to_60."""
    if requested == 60:
        return (60,)
    made = (20, 10) if requested in (10, None) else (20,)
    return made + ((60,) if downsample else ())


def convert(l1c_safe: Path, out_dir: Path, mode: str, made: tuple[int, ...], baseline: str, report: Report) -> Path:
    """Write the L2A SAFE of one L1C SAFE folder into out_dir; return its path."""
    platform, datatake, orbit, tile = L1C_NAME.match(l1c_safe.name).groups()
    meta = read_metadata(l1c_safe)
    offsets = version()[:2] >= (2, 10)
    generation = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    name = f"{platform}_MSIL2A_{datatake}_N{baseline.replace('.', '')}_R{orbit}_T{tile}_{generation:%Y%m%dT%H%M%S}.SAFE"
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
    transform = {r: rasterio.Affine(r, 0.0, t10[2], 0.0, -r, t10[5]) for r in (10, 20, 60)}

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
    for res in made:
        for b in BANDS_AT[res] + (("SCL",) if res in (20, 60) else ()):
            if b == "SCL":
                data = scl if res == 20 else block(scl, 3, "max").astype(np.uint8)
            else:
                data = dn(at(b, res), offsets)
            rel = f"IMG_DATA/R{res}m/{stem}_{b}_{res}m"
            write_jp2(gdir / f"{rel}.jp2", data, crs, transform[res])
            image_files.append(f"GRANULE/{granule}/{rel}")
        say(f"Progress[%]: {100 * (made.index(res) + 1) / len(made):5.2f} : resolution {res} m done")
        if mode == "failing":
            report.entry("ERROR", "L2A_Tables: cannot allocate the 20 m tables (stand-in told to fail)")
            say("Progress[%]: 100.00 : Application terminated with at least one error.")
            raise SystemExit(1)
        if res in (20, 60):
            factor = res // 20
            for kind, prob in (("CLDPRB", cloud_prob), ("SNWPRB", snow_prob)):
                write_jp2(
                    gdir / "QI_DATA" / f"MSK_{kind}_{res}m.jp2",
                    block(prob, factor, "max").astype(np.uint8),
                    crs,
                    transform[res],
                )
    tl = next((l1c_safe / "GRANULE" / l1c_granule).glob("MTD_TL.xml"), None)
    if tl is not None:
        (gdir / "MTD_TL.xml").write_bytes(tl.read_bytes().replace(b"Level-1C", b"Level-2A"))
    for d in COPIED:
        shutil.copytree(l1c_safe / d, safe / d)
    shutil.copytree(l1c_safe / "GRANULE" / l1c_granule / "AUX_DATA", gdir / "AUX_DATA")
    (safe / "DATASTRIP").mkdir(exist_ok=True)
    (safe / "MTD_MSIL2A.xml").write_bytes(product_mtd(name, meta, generation, image_files, granule, baseline, offsets))
    declaration = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    (safe / "INSPIRE.xml").write_bytes(
        declaration + b'<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>\n'
    )
    (safe / "manifest.safe").write_bytes(declaration + b'<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"/>\n')
    if mode == "partial":
        next(gdir.glob("IMG_DATA/R20m/*_B12_20m.jp2")).unlink()
    return safe


def gipp_problems(gipp: Path) -> list[str]:
    """Why the GIPP does not validate against the installation's L2A_GIPP.xsd (none: it does)."""
    schema = etree.XMLSchema(etree.parse(str(CFG / "L2A_GIPP.xsd")))
    if schema.validate(etree.parse(str(gipp))):
        return []
    return ["Schema file: L2A_GIPP.xsd", f"Details: {schema.error_log.filter_from_errors()[0]}"]


def baseline_of(args) -> str:
    """The processing baseline: --processing_baseline, else L2A_PB_GIPP.xml's Baseline_Version."""
    if args.processing_baseline:
        return f"{float(args.processing_baseline):05.2f}"
    return etree.parse(str(CFG / "L2A_PB_GIPP.xml")).findtext("Baseline_Version").strip()


def run(args, mode: str) -> int:
    """One run on an L1C product after the command line is read (Sen2Cor's main())."""
    major, minor, _ = version()
    home = Path(os.environ.get("SEN2COR_HOME") or Path.home() / "sen2cor" / f"{major}.{minor}")
    log_dir = home / "log"
    if not log_dir.exists():
        os.mkdir(log_dir)  # as Sen2Cor: a home that does not exist or cannot be written is a crash
    l1c = Path(args.input_dir)
    m = L1C_NAME.match(l1c.name)
    if not m:
        say(f"L1C user product directory must match the following mask: S2?_MSIL1C*.SAFE, but is {l1c.name}")
        return 1
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    report = Report(log_dir / f"{l1c.name.replace('MSIL1C', 'MSIL2A').removesuffix('.SAFE')}_{stamp}_report.xml")
    report.entry("INFO", "logging for the main process initialized")
    gipp = Path(args.GIP_L2A) if args.GIP_L2A else home / "cfg" / "L2A_GIPP.xml"
    problems = gipp_problems(gipp)
    errors = []
    if problems:
        say("Syntax error in metadata, see report file for details.")
        errors += problems
    if m.group(1) in ("S2C", "S2D") and (major, minor) < (2, 12):
        errors.append(f"Spacecraft {m.group(1)} is not supported by this version")
    missing = [d for d in COPIED if not (l1c / d).is_dir()]
    missing += [f"GRANULE/{g.name}/AUX_DATA" for g in (l1c / "GRANULE").glob("*") if not (g / "AUX_DATA").is_dir()]
    if missing:
        errors.append(f"cannot copy {', '.join(missing)} of the L1C product: No such file or directory")
    threads = etree.parse(str(gipp)).findtext(".//Nr_Threads")
    downsample = (etree.parse(str(gipp)).findtext(".//Downsample_20_to_60") or "TRUE").strip() == "TRUE"
    baseline = baseline_of(args)
    say(
        f"Sentinel-2 Level 2A Processor (Sen2Cor). Version: {major}.{minor}.{version()[2]} (stand-in, {mode}) "
        "started ..."
    )
    say(f"GIPP {gipp}: Nr_Threads {threads}")
    say(f"Processing baseline: {baseline}")
    if mode == "silent":
        errors.append("L2A_ProcessTile: process aborted (stand-in told to fail silently)")
    if mode == "hanging":
        while True:
            time.sleep(60)
    if errors:
        for e in errors:
            report.entry("ERROR", e)
        say("Progress[%]: 100.00 : Application terminated with at least one error.")
        return 0
    convert(l1c, Path(args.output_dir), mode, resolutions(args.resolution, downsample), baseline, report)
    say("Progress[%]: 100.00 : Application terminated successfully.")
    return 0


def main(mode: str) -> int:
    """Parse Sen2Cor's command line and run the stand-in in the given mode."""
    major, minor, patch = version()
    p = argparse.ArgumentParser(
        prog="L2A_Process.py",
        description=(
            f"Sentinel-2 Level 2A Processor (Sen2Cor). Version: {major}.{minor}.{patch}, created: 2022.09.23, "
            "supporting "
            "Level-1C product version 14.2 - 14.9. (stand-in for soilsat's tests)"
        ),
    )
    p.add_argument("input_dir", help="Directory of Level-1C input")
    p.add_argument("--mode", default="generate_l2a")
    p.add_argument("--resolution", type=int, choices=(10, 20, 60))
    p.add_argument("--output_dir", required=True)
    p.add_argument("--GIP_L2A")
    p.add_argument("--processing_baseline")
    p.add_argument("--work_dir")
    return run(p.parse_args(), mode)
