"""make-pool speed: metadata-only reads, and files per second with 1 and 2 workers.

Run: ``.venv/bin/python benchmarks/make_pool_scan.py [--files N] [--size S]``.
Writes ``benchmarks/results/make_pool_scan.json``. Builds Level 2 files with
roman_datamodels in a temporary folder: one S x S image (4088 = a real WFI
detector) and N small ones sharing the same metadata layout.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import asdf
import numpy as np
import roman_datamodels.datamodels as dm
from _harness import add_record_option, machine, parse_args, results_dir
from astropy import coordinates as coord
from astropy import units as u
from astropy.modeling import models
from gwcs import WCS
from gwcs import coordinate_frames as cf

from roman_asn.make_pool import build_pool, scan_file, scan_files


def make_cal(folder: Path, index: int, size: int) -> Path:
    model = dm.ImageModel.create_fake_data(shape=(size, size))
    # noise, so the pixel block keeps its real size whatever compression save applies
    model.data = np.random.default_rng(index).standard_normal((size, size), dtype=np.float32)
    obs = model.meta.observation
    for name in ("program", "execution_plan", "pass", "segment", "observation", "visit"):
        obs[name] = 1
    obs["exposure"] = index // 18 + 1
    detector = f"WFI{index % 18 + 1:02d}"
    model.meta.instrument["detector"] = detector
    transform = (
        models.Shift(-size / 2) & models.Shift(-size / 2)
        | models.Scale(3e-5) & models.Scale(3e-5)
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(10.0 + index * 0.01, -20.0, 180)
    )
    wcs = WCS(
        [
            (cf.Frame2D(name="detector", unit=(u.pix, u.pix)), transform),
            (cf.CelestialFrame(reference_frame=coord.ICRS(), name="world"), None),
        ]
    )
    wcs.bounding_box = ((-0.5, size - 0.5), (-0.5, size - 0.5))
    model.meta["wcs"] = wcs
    path = folder / f"r0000101001001001001_{obs['exposure']:04d}_{detector.lower()}_cal.asdf"
    model.meta["filename"] = path.name
    model.save(path, all_array_storage="internal")  # blocks, as in real files
    return path


def best_of(repeats: int, action) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=180, help="small files for the rate")
    parser.add_argument("--size", type=int, default=4088, help="side of the large image")
    add_record_option(parser)
    args = parse_args(parser, None, "make_pool_scan")
    figures: dict[str, object] = {"machine": machine(), "files": args.files}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big_dir = folder / "big"
        big_dir.mkdir()
        big = make_cal(big_dir, 0, args.size)
        figures["large_file_bytes"] = big.stat().st_size
        scan_file(str(big))  # imports and caches out of the timing
        figures["large_file_metadata_s"] = best_of(3, lambda: scan_file(str(big)))

        def read_pixels() -> None:
            with asdf.open(big, lazy_load=True, memmap=False) as af:
                np.asarray(af["roman"]["data"]).sum()

        figures["large_file_pixels_s"] = best_of(1, read_pixels)
        small_dir = folder / "small"
        small_dir.mkdir()
        paths = [make_cal(small_dir, i, 16) for i in range(args.files)]
        for jobs in (1, 2):
            start = time.perf_counter()
            made = build_pool(scan_files(paths, jobs=jobs, parallel_from=0))
            elapsed = time.perf_counter() - start
            assert made.pool is not None and len(made.pool) == args.files, made.rejects[:3]
            figures[f"jobs{jobs}_s"] = elapsed
            figures[f"jobs{jobs}_files_per_s"] = args.files / elapsed
    out = results_dir() / "make_pool_scan.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
