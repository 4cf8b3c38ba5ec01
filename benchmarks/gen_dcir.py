"""Write a large SNDS ER_PRS_F extract (CSV, ``;``) of a given size, for scale runs of the reader.

    PYTHONPATH=. python benchmarks/gen_dcir.py /tmp/dcir_90mb.csv --mb 90
    PYTHONPATH=. python benchmarks/gen_dcir.py /tmp/dcir_1gb.csv --mb 1024

The file has the columns of ``examples/audit/dcir_sample.csv`` (24, as an ER_PRS_F extract
joined with nothing) and is shaped like a real extract rather than like a sorted one, because the
reader's memory depends on that shape: many beneficiaries and practitioners, days of care over
2023-2025, encounters of one to five lines (an act, its majorations, accounting lines, IK
kilometres, a K with its half coefficient), most lines of an encounter written together but a
share of them later in the file (a cancellation or a majoration paid in another flow), and a few
lines no encounter can have (an empty key part, a day that is no date).  The claims come from a
small set of recipes, so that an audit of the file judges a few hundred situations and measures
the reading, not the solver.  Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = (
    "BEN_NIR_PSA", "BEN_RNG_GEM", "BEN_NAI_ANN", "BEN_SEX_COD", "PFS_EXE_NUM", "PSE_SPE_COD",
    "PSE_CNV_COD", "PRS_MTT_NUM", "EXE_SOI_DTD", "EXE_LIE_COD", "PRS_NAT_REF", "BSE_PRS_NAT",
    "CPL_PRS_NAT", "CPL_MAJ_TOP", "PRS_ACT_QTE", "PRS_ACT_CFT", "PRS_PAI_MNT", "BSE_REM_BSE",
    "PRS_DEP_MNT", "PRS_OPS_TRF", "EXO_MTF", "DCT_ORD_NUM", "PRS_ORD_NUM", "FLX_DIS_DTD",
)
RECIPES: tuple[tuple[tuple[str, str, str, str, str, str], ...], ...] = (
    # PRS_NAT_REF, CPL_PRS_NAT, CPL_MAJ_TOP, PRS_ACT_QTE, PRS_ACT_CFT, PRS_PAI_MNT
    (("1110", "0", "0", "1", "1", "26.50"),),
    (("1110", "0", "0", "1", "1", "26.50"), ("1110", "1951", "2", "1", "0", "0")),
    (("1110", "0", "0", "1", "1", "26.50"), ("1110", "1124", "2", "1", "0", "5.00")),
    (("1210", "0", "0", "1", "1", "26.50"), ("1210", "1913", "2", "1", "0", "40.00")),
    (("1210", "0", "0", "1", "1", "26.50"), ("1811", "0", "0", "12", "0", "7.32")),
    (("1110", "0", "0", "2", "1", "53.00"), ("1110", "0", "0", "-1", "1", "-26.50")),
    (("1312", "0", "0", "1", "9", "18.90"), ("1312", "0", "0", "1", "4.5", "9.45")),
    (("1193", "0", "0", "1", "1", "12.00"),),
    (("1104", "0", "0", "1", "1", "46.00"),),
    (("1110", "0", "0", "1", "1", "26.50"), ("1951", "0", "0", "1", "0", "0"),
     ("1095", "0", "0", "1", "0", "2.00")),
)
SPECIALTIES = ("1", "1", "1", "22", "23", "1", "3")
"""Mostly GPs; a cardiologist now and then (its lines are out of scope)."""
BAD_DAYS = ("", "not a date", "2021-12-31", "2099-01-01", "2023-02-30")


def _line(rng: random.Random, patient: tuple[str, str, str, str], gp: tuple[str, str, str],
          day: str, place: str, act: tuple[str, str, str, str, str, str], order: int) -> str:
    nature, complement, top, quantity, coefficient, amount = act
    nir, rank, year, sex = patient
    number, specialty, sector = gp
    treating = number if rng.random() < 0.6 else ""
    cells = (
        nir, rank, year, sex, number, specialty, sector, treating, day, place, nature,
        nature if top == "0" else "0", complement, top, quantity, coefficient, amount, amount,
        "0", "1" if sector == "1" else "2", rng.choice(("", "", "", "41")),
        str(100_000_000 + rng.randrange(900_000_000)), str(order), day[:8] + "28",
    )
    return ";".join(cells)


def generate(path: Path, megabytes: float, seed: int = 7) -> int:
    """Write the file; returns the number of data lines."""
    rng = random.Random(seed)
    patients = [
        (f"{rng.getrandbits(68):017x}", rng.choice("11112"), str(rng.randint(1925, 2024)),
         rng.choice("12"))
        for _ in range(50_000)
    ]
    gps = [
        (str(rng.randint(100_000_000, 999_999_999)), rng.choice(SPECIALTIES), rng.choice("1123"))
        for _ in range(2_000)
    ]
    limit = int(megabytes * 1024 * 1024)
    written, lines = 0, 0
    late: list[str] = []
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(";".join(HEADER) + "\n")
        while written < limit:
            patient, gp = rng.choice(patients), rng.choice(gps)
            day = f"{rng.randint(2023, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            place = rng.choice(("0", "0", "0", "1", ""))
            block = [
                _line(rng, patient, gp, day, place, act, order)
                for order, act in enumerate(rng.choice(RECIPES), start=1)
            ]
            if rng.random() < 0.02:
                block.append(_line(rng, patient, gp, rng.choice(BAD_DAYS), place,
                                   RECIPES[0][0], 1))
            for text in block:
                if rng.random() < 0.1:
                    late.append(text)  # paid in a later flow: further down the file
                else:
                    out.write(text + "\n")
                    written += len(text) + 1
                    lines += 1
            if len(late) > 5_000 or (written >= limit and late):
                rng.shuffle(late)
                for text in late:
                    out.write(text + "\n")
                    written += len(text) + 1
                    lines += 1
                late.clear()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--mb", type=float, default=90, help="size of the file in MB")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    lines = generate(args.path, args.mb, args.seed)
    print(f"{args.path}: {lines} lines, {args.path.stat().st_size / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
