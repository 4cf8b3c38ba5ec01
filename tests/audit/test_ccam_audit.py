"""CCAM acts of the official table and CCAM modifiers through the batch audit: an encounter table
claiming modifiers, and SNDS lines whose CCAM code (CAM_PRS_IDE) is one of the new acts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ngap.audit.core import Auditor
from ngap.audit.dcir import iter_dcir
from ngap.audit.readers import read
from ngap.solver.engine import Nomenclature

HEADER = "id,date,time,place,patient_age_years,patient_sex,circumstances_emergency,done,claimed\n"


@pytest.fixture(scope="module")
def auditor(nomenclature: Nomenclature) -> Auditor:
    return Auditor(nomenclature)


def _audit(auditor: Auditor, path: Path) -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = {}
    for batch in read(path, chunk_rows=5):
        for row in auditor.audit(batch).to_pylist():
            rows[str(row["id"])] = row
    return rows


def test_modifiers_are_claimed_codes_of_an_encounter_table(
    auditor: Auditor, tmp_path: Path
) -> None:
    path = tmp_path / "ccam.csv"
    path.write_text(
        HEADER
        # GABD002 28.26 (CCAM v78) + M 26.88: the reference trap's 55.14.
        + "N1,2025-03-11,10:00,office,40,m,true,GABD002,GABD002 MOD_M\n"
        # P at 10:00: the hour rule of P.
        + "N2,2025-03-11,10:00,office,40,m,true,GABD002,GABD002+MOD_P\n"
        # M on the consultation: never on an NGAP act.
        + "N3,2025-03-11,10:00,office,40,m,true,consultation,G;MOD_M\n"
        # Urgency not recorded: M is valid only if the act was urgent.
        + "N4,2025-03-11,10:00,office,40,m,,GABD002,GABD002 MOD_M\n"
        # The bare letter is no code of the catalogue: bad input naming the close match.
        + "N5,2025-03-11,10:00,office,40,m,true,GABD002,GABD002 M\n",
        encoding="utf-8",
    )
    rows = _audit(auditor, path)
    assert rows["N1"]["status"] == "valid" and rows["N1"]["claimed_cents"] == 5514
    assert rows["N2"]["status"] == "violation" and rows["N2"]["rules"] == "ccam_modifier_p_hours"
    assert rows["N3"]["status"] == "violation" and rows["N3"]["rules"] == "ccam_modifier_on_ngap"
    assert rows["N4"]["status"] == "conditional"
    assert rows["N5"]["status"] == "bad_input" and "MOD_M" in str(rows["N5"]["reason"])


def test_snds_lines_of_the_new_ccam_acts_are_judged(auditor: Auditor, tmp_path: Path) -> None:
    header = (
        "BEN_NIR_PSA;BEN_RNG_GEM;PFS_EXE_NUM;EXE_SOI_DTD;PSE_SPE_COD;PRS_NAT_REF;CPL_MAJ_TOP;"
        "CPL_PRS_NAT;PRS_ACT_QTE;PRS_ACT_CFT;PRS_PAI_MNT;CAM_PRS_IDE\n"
    )
    path = tmp_path / "er_prs_f.csv"
    path.write_text(
        header
        + "7f3a9c2e1b8d4065a;1;191007342;2025-03-11;1;1352;;;1;;28.26;gabd002\n"
        + "7f3a9c2e1b8d4065a;1;191007342;2025-03-12;1;1352;;;1;;28.80;QZJA002\n",
        encoding="utf-8",
    )
    audited = [row for batch in iter_dcir(path) for row in auditor.audit(batch).to_pylist()]
    # Each line is one encounter (two days); both acts are priced from the official table.
    assert sorted(row["claimed_cents"] for row in audited) == [2606, 2826]
    # The extract records no place, time nor urgency: valid if the act was done in person; the
    # optimum assumes the most favourable context (an urgent act at night at the office).
    for row in audited:
        assert row["status"] == "conditional", row
        assert row["conditions"] == "place=home|institution|office"
