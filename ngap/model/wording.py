"""Words for users: activity labels and the context of the rule base, in French and English.

One place for every phrase that tells a user what was performed or what the solver assumed about
the context an encounter left unknown (« si l'acte était urgent et l'appel après 19 h »), so the
command line, the web calculator and reports say the same thing.  Codes have their labels in
``codes.yaml``; rule messages are in ``rules.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ngap.model.vocabulary import ACTIVITIES, AGE_THRESHOLDS, HOUR_BANDS, AgeThreshold

LANGS: Final = ("fr", "en")

ACTIVITY_LABELS: Final[dict[str, tuple[str, str]]] = {
    "consultation": ("Consultation au cabinet (ou en établissement)", "Office consultation"),
    "visit": ("Visite à domicile", "Home visit"),
    "teleconsultation": ("Téléconsultation vidéo", "Video teleconsultation"),
    "tele_expertise_request": ("Téléexpertise, médecin requérant", "Tele-expertise, requesting"),
    "tele_expertise_answer": ("Téléexpertise, médecin requis", "Tele-expertise, requested"),
    "consultant_opinion": (
        "Avis ponctuel de consultant à la demande du médecin traitant (APC)",
        "One-off consultant opinion (APC)",
    ),
    "child_exam_certificate": (
        "Examen obligatoire de l'enfant donnant lieu à certificat (COE)",
        "Child examination with a health certificate (COE)",
    ),
    "child_exam": ("Autre examen obligatoire de l'enfant", "Other mandatory child examination"),
    "contraception_first": (
        "Première consultation de contraception et de santé sexuelle (CCP)",
        "First contraception and sexual-health consultation (CCP)",
    ),
    "cso": (
        "Consultation complexe : enfant de 3 à 12 ans à risque d'obésité (CSO)",
        "Complex consultation: child 3-12 at risk of obesity (CSO)",
    ),
    "cse": (
        "Consultation complexe : suivi annuel d'un enfant autiste (CSE)",
        "Complex consultation: yearly follow-up of a child with autism (CSE)",
    ),
    "ase": ("Consultation complexe ASE", "Complex consultation ASE"),
    "cte": (
        "Consultation très complexe : dépistage de l'autisme (CTE)",
        "Very complex consultation: autism screening (CTE)",
    ),
    "mph": (
        "Consultation très complexe : premier dossier MDPH (MPH)",
        "Very complex consultation: first MDPH file (MPH)",
    ),
    "mis": (
        "Information initiale : cancer ou maladie neurologique grave (MIS)",
        "Initial information on a cancer or serious neurological disease (MIS)",
    ),
    "piv": ("Prise en charge initiale d'une infection VIH (PIV)", "Initial care of HIV (PIV)"),
    "long_visit": ("Visite longue du médecin traitant (VL)", "Long home visit (VL)"),
    "palliative_visit": (
        "Visite de soins palliatifs du médecin traitant (VSP)",
        "Palliative-care home visit (VSP)",
    ),
    "mt_registration": (
        "Inscription comme médecin traitant d'un patient en ALD (IMT)",
        "Registration as médecin traitant of an ALD patient (IMT)",
    ),
    "long_consultation_discharge": (
        "Consultation longue, 80 ans et plus, après hospitalisation (GL1)",
        "Long consultation, 80+, after discharge (GL1)",
    ),
    "long_consultation_deprescribing": (
        "Consultation longue, 80 ans et plus, déprescription (GL2)",
        "Long consultation, 80+, deprescribing (GL2)",
    ),
    "long_consultation_medicosocial": (
        "Consultation longue, 80 ans et plus, dossier médico-social (GL3)",
        "Long consultation, 80+, medico-social file (GL3)",
    ),
    "prevention_checkup": (
        "Rendez-vous de prévention aux âges clés (RDV)",
        "Prevention check-up at a key age (RDV)",
    ),
    "certificate_work_accident_light": (
        "Certificat final d'accident du travail, séquelles légères (K0,7)",
        "Final work-accident certificate, light sequelae (K0.7)",
    ),
    "certificate_work_accident_serious": (
        "Certificat final d'accident du travail, séquelles graves (K1)",
        "Final work-accident certificate, serious sequelae (K1)",
    ),
    "burn_small": ("Pansement de brûlure de moins de 10 cm² (K9)", "Burn dressing < 10 cm² (K9)"),
    "burn_large": (
        "Pansement de brûlure de plus de 10 % de la surface corporelle (K16)",
        "Burn dressing > 10 % of the body surface (K16)",
    ),
    "special_demand": (
        "Exigence particulière du patient (horaire ou lieu, DE)",
        "Exceptional time or place imposed by the patient (DE)",
    ),
}
"""Activity -> (French, English) label.  Every activity of the vocabulary has one (a test)."""


def activity_label(activity: str, lang: str = "fr") -> str:
    labels = ACTIVITY_LABELS.get(activity)
    if labels is None:
        return ACTIVITIES.get(activity, activity)
    return labels[0] if lang == "fr" else labels[1]


# ------------------------------------------------------------------------------ context
# Each phrase is a clause that reads after « si » / "if": « si <clause> et <clause> ».

_HOURS: Final = {
    "h00_06": (0, 6),
    "h06_07": (6, 7),
    "h07_08": (7, 8),
    "h08_12": (8, 12),
    "h12_14": (12, 14),
    "h14_19": (14, 19),
    "h19_20": (19, 20),
    "h20_21": (20, 21),
    "h21_24": (21, 24),
}

_VALUES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "zone": {
        "metro": ("l'acte avait lieu en métropole", "the act took place in metropolitan France"),
        "drom": ("l'acte avait lieu dans un DROM", "the act took place overseas (DROM)"),
    },
    "day": {
        "weekday": ("le jour était un jour de semaine", "the day was a weekday"),
        "saturday": ("le jour était un samedi", "the day was a Saturday"),
        "sunday": ("le jour était un dimanche", "the day was a Sunday"),
        "holiday": ("le jour était férié", "the day was a public holiday"),
    },
    "bridge": {
        "yes": ("le jour était un jour de pont", "the day was a bridge day"),
        "no": ("le jour n'était pas un jour de pont", "the day was not a bridge day"),
    },
    "call": {
        "night": (
            "l'appel avait été reçu entre 19 h et 7 h",
            "the call came between 7 pm and 7 am",
        ),
        "day": (
            "l'appel avait été reçu entre 7 h et 19 h",
            "the call came between 7 am and 7 pm",
        ),
    },
    "place": {
        "office": ("l'acte avait lieu au cabinet", "the act took place at the office"),
        "home": ("l'acte avait lieu au domicile du patient", "the act took place at home"),
        "institution": (
            "l'acte avait lieu en établissement",
            "the act took place in an institution",
        ),
        "tele": ("l'acte était une téléconsultation", "the act was a teleconsultation"),
    },
    "specialty": {
        "gp": ("le médecin était généraliste", "the doctor was a GP"),
        "gp_specialist": (
            "le médecin était spécialiste qualifié en médecine générale",
            "the doctor was a qualified specialist in general medicine",
        ),
    },
    "sector": {
        "s1": ("le médecin était en secteur 1", "the doctor was in sector 1"),
        "s2_optam": (
            "le médecin était en secteur 2 adhérent à l'OPTAM",
            "the doctor was in sector 2 with OPTAM",
        ),
        "s2": (
            "le médecin était en secteur 2 sans OPTAM",
            "the doctor was in sector 2 without OPTAM",
        ),
    },
    "rate": {
        "opposable": ("l'acte était facturé au tarif opposable", "billed at the opposable rate"),
        "above": ("l'acte était facturé avec dépassement", "billed above the opposable rate"),
    },
    "sex": {
        "f": ("la patiente était une femme", "the patient was female"),
        "m": ("le patient était un homme", "the patient was male"),
    },
    "exam_window": {
        "coe": (
            "l'enfant était dans la période d'un examen donnant lieu à certificat",
            "the child was in the window of an exam with a health certificate",
        ),
        "mandatory": (
            "l'enfant était dans la période d'un autre examen obligatoire",
            "the child was in the window of another mandatory exam",
        ),
        "none": (
            "l'enfant n'était dans la période d'aucun examen obligatoire",
            "the child was in no mandatory exam window",
        ),
    },
    "trip": {
        "single": ("le patient était seul vu lors du déplacement", "one patient on the trip"),
        "household_2_3": (
            "le patient était le 2e ou 3e du même foyer",
            "the patient was the 2nd or 3rd of one household",
        ),
        "household_4plus": (
            "le patient était le 4e ou plus du même foyer",
            "the patient was the 4th or later of one household",
        ),
        "institution_next": (
            "le patient n'était pas le premier vu dans l'établissement",
            "the patient was a later patient in one institution",
        ),
        "ehpad_2_3": (
            "le patient était le 2e ou 3e vu en EHPAD",
            "the patient was the 2nd or 3rd seen in an EHPAD",
        ),
    },
}

_FLAGS: Final[dict[str, tuple[str, str, str, str]]] = {
    # flag: (French yes, French no, English yes, English no)
    "emergency": (
        "l'acte était urgent (urgence justifiée par l'état du patient)",
        "l'acte n'était pas urgent",
        "the act was a genuine emergency",
        "the act was not urgent",
    ),
    "regulated": (
        "le patient était adressé par la régulation (SAS / centre 15)",
        "le patient n'était pas adressé par la régulation",
        "the regulator (SAS / centre 15) sent the patient",
        "the regulator did not send the patient",
    ),
    "regulated_duty": (
        "le médecin était de garde régulée (PDSA)",
        "le médecin n'était pas de garde régulée",
        "the doctor was on regulated out-of-hours duty",
        "the doctor was not on regulated duty",
    ),
    "sas_within_24h": (
        "la visite avait lieu dans les 24 h de la demande du SAS",
        "la visite n'avait pas lieu dans les 24 h de la demande du SAS",
        "the visit was within 24 h of the SAS request",
        "the visit was not within 24 h of the SAS request",
    ),
    "left_at_once": (
        "le médecin avait interrompu ses consultations pour partir immédiatement",
        "le médecin n'avait pas interrompu ses consultations",
        "the doctor interrupted consultations and left at once",
        "the doctor did not leave at once",
    ),
    "correspondent": (
        "le médecin intervenait comme correspondant (parcours coordonné)",
        "le médecin n'intervenait pas comme correspondant",
        "the doctor saw the patient as correspondent",
        "the doctor was not the correspondent",
    ),
    "mt_request": (
        "le médecin traitant avait demandé explicitement l'avis",
        "le médecin traitant n'avait pas demandé l'avis",
        "the médecin traitant explicitly asked for the opinion",
        "the médecin traitant did not ask for the opinion",
    ),
    "seen_last_4_months": (
        "le consultant avait vu le patient dans les 4 derniers mois",
        "le consultant n'avait pas vu le patient dans les 4 derniers mois",
        "the consultant saw the patient in the last 4 months",
        "the consultant had not seen the patient in the last 4 months",
    ),
    "fast_referral": (
        "le médecin traitant avait obtenu un rendez-vous rapide chez le correspondant",
        "aucun rendez-vous rapide n'avait été obtenu",
        "the médecin traitant obtained a fast correspondent appointment",
        "no fast correspondent appointment",
    ),
    "home_justified": (
        "la visite à domicile était justifiée",
        "la visite à domicile n'était pas justifiée",
        "the home visit was justified",
        "the home visit was not justified",
    ),
    "ald": (
        "le patient était en ALD",
        "le patient n'était pas en ALD",
        "the patient had a long-term condition (ALD)",
        "the patient had no ALD",
    ),
    "ald_neuro": (
        "le patient était en ALD pour une maladie neurodégénérative",
        "le patient n'était pas en ALD neurodégénérative",
        "the ALD was a neurodegenerative disease",
        "no neurodegenerative ALD",
    ),
    "palliative": (
        "le patient était en soins palliatifs",
        "le patient n'était pas en soins palliatifs",
        "the patient was in palliative care",
        "the patient was not in palliative care",
    ),
    "discharge_30d": (
        "le patient était sorti d'hospitalisation depuis moins de 30 jours",
        "le patient n'était pas sorti d'hospitalisation depuis moins de 30 jours",
        "within 30 days of a qualifying discharge",
        "not within 30 days of a qualifying discharge",
    ),
    "discharge_heart_failure": (
        "le patient était sorti depuis moins de 2 mois pour insuffisance cardiaque",
        "pas de sortie récente pour insuffisance cardiaque",
        "within 2 months of a heart-failure discharge",
        "no recent heart-failure discharge",
    ),
    "discharge_45d": (
        "le patient était sorti d'hospitalisation depuis moins de 45 jours",
        "le patient n'était pas sorti d'hospitalisation depuis moins de 45 jours",
        "within 45 days of a discharge",
        "not within 45 days of a discharge",
    ),
    "has_treating_doctor": (
        "le patient avait déclaré un médecin traitant",
        "le patient n'avait pas de médecin traitant déclaré",
        "the patient had declared a médecin traitant",
        "the patient had no médecin traitant",
    ),
    "new_treating_doctor": (
        "c'était la première visite d'un nouveau médecin traitant",
        "ce n'était pas la première visite d'un nouveau médecin traitant",
        "this was the first visit of a new médecin traitant",
        "not the first visit of a new médecin traitant",
    ),
    "unable_to_move": (
        "le patient ne pouvait pas se déplacer pour raison médicale",
        "le patient pouvait se déplacer",
        "the patient could not move for a medical reason",
        "the patient could move",
    ),
    "mountain": (
        "le domicile ou le cabinet était en zone de montagne",
        "ni le domicile ni le cabinet n'étaient en zone de montagne",
        "home or practice in a mountain zone",
        "not in a mountain zone",
    ),
    "ik_distance": (
        "le déplacement sortait de l'agglomération au-delà de l'abattement",
        "le déplacement ne dépassait pas l'abattement",
        "the trip went beyond the IK allowance",
        "the trip stayed within the IK allowance",
    ),
    "on_foot_or_ski": (
        "le déplacement s'était fait à pied ou à ski",
        "le déplacement ne s'était pas fait à pied ou à ski",
        "the trip was made on foot or on skis",
        "the trip was not made on foot or on skis",
    ),
    "burn_face_hands": (
        "la brûlure touchait le visage ou les mains",
        "la brûlure ne touchait ni le visage ni les mains",
        "the burn was on the face or hands",
        "the burn was not on the face or hands",
    ),
    "treating": (
        "le médecin était le médecin traitant du patient",
        "le médecin n'était pas le médecin traitant du patient",
        "the doctor was the patient's médecin traitant",
        "the doctor was not the patient's médecin traitant",
    ),
    "pdsa_extended": (
        "l'arrêté régional de PDSA couvrait le samedi après-midi et les ponts",
        "l'arrêté régional de PDSA ne couvrait pas le samedi après-midi ni les ponts",
        "the regional PDSA order covered Saturday afternoon and bridge days",
        "the regional PDSA order did not cover Saturday afternoon and bridge days",
    ),
}


def _age_text(threshold: AgeThreshold, lang: str) -> str:
    if threshold.days:
        return f"{threshold.days} {'jours' if lang == 'fr' else 'days'}"
    if threshold.months % 12 == 0:
        return f"{threshold.months // 12} {'ans' if lang == 'fr' else 'years'}"
    return f"{threshold.months} {'mois' if lang == 'fr' else 'months'}"


def _age_clause(band: str, lang: str) -> str:
    index = int(band[1:])
    low = AGE_THRESHOLDS[index - 1] if index > 0 else None
    high = AGE_THRESHOLDS[index] if index < len(AGE_THRESHOLDS) else None
    if lang == "fr":
        if low is None and high is not None:
            return f"le patient avait moins de {_age_text(high, lang)}"
        if high is None and low is not None:
            return f"le patient avait {_age_text(low, lang)} ou plus"
        assert low is not None and high is not None
        return f"le patient avait entre {_age_text(low, lang)} et moins de {_age_text(high, lang)}"
    if low is None and high is not None:
        return f"the patient was under {_age_text(high, lang)}"
    if high is None and low is not None:
        return f"the patient was {_age_text(low, lang)} or older"
    assert low is not None and high is not None
    return f"the patient was {_age_text(low, lang)} to under {_age_text(high, lang)}"


def _hour_clause(band: str, lang: str) -> str:
    start, end = _HOURS[band]
    if lang == "fr":
        return f"l'acte avait lieu entre {start} h et {end} h"
    return f"the act took place between {start}:00 and {end}:00"


def context_clause(dim: str, value: str, lang: str = "fr") -> str:
    """One context value as a clause that reads after « si » (French) or "if" (English)."""
    fr = lang == "fr"
    if dim == "hour" and value in HOUR_BANDS:
        return _hour_clause(value, lang)
    if dim == "age" and value.startswith("a") and value[1:].isdigit():
        return _age_clause(value, lang)
    if dim in _VALUES and value in _VALUES[dim]:
        return _VALUES[dim][value][0 if fr else 1]
    if dim in _FLAGS and value in ("yes", "no"):
        fr_yes, fr_no, en_yes, en_no = _FLAGS[dim]
        if fr:
            return fr_yes if value == "yes" else fr_no
        return en_yes if value == "yes" else en_no
    if dim.startswith("done:") and value in ("yes", "no"):
        act = dim[5:]
        label = activity_label(act, lang)
        if fr:
            return (
                f"l'acte « {label} » avait été réalisé"
                if value == "yes"
                else (f"l'acte « {label} » n'avait pas été réalisé")
            )
        return f"“{label}” was performed" if value == "yes" else f"“{label}” was not performed"
    if dim.startswith("km_bit_"):
        return "le kilométrage était différent" if fr else "the distance was different"
    return f"{dim} = {value}"


def dimension_clause(dim: str, values: Sequence[str], lang: str = "fr") -> str:
    """A dimension that may take any of ``values``: the clauses joined by « ou » / "or"."""
    sep = " ou " if lang == "fr" else " or "
    hours = [v for v in values if dim == "hour" and v in _HOURS]
    if hours and len(hours) == len(values):
        return sep.join(_merged_hours(hours, lang))
    return sep.join(context_clause(dim, v, lang) for v in values)


def _merged_hours(bands: Sequence[str], lang: str) -> list[str]:
    """Adjacent hour bands read as one span (20 h-21 h and 21 h-24 h: entre 20 h et 24 h)."""
    spans: list[list[int]] = []
    for band in sorted(bands, key=lambda b: _HOURS[b][0]):
        start, end = _HOURS[band]
        if spans and spans[-1][1] == start:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    if lang == "fr":
        texts = [f"entre {s} h et {e} h" for s, e in spans]
        return [f"l'acte avait lieu {texts[0]}", *texts[1:]]
    texts = [f"between {s}:00 and {e}:00" for s, e in spans]
    return [f"the act took place {texts[0]}", *texts[1:]]


def describe_context(context: Mapping[str, str | Sequence[str]], lang: str = "fr") -> str:
    """« si l'acte était urgent et l'appel avait été reçu entre 19 h et 7 h » (empty: "")."""
    if not context:
        return ""
    parts = []
    for dim, value in context.items():
        values = [value] if isinstance(value, str) else list(value)
        parts.append(dimension_clause(dim, values, lang))
    if lang == "fr":
        return "si " + " et ".join(parts)
    return "if " + " and ".join(parts)


FLAG_LABELS: Final[dict[str, tuple[str, str]]] = {
    "emergency": ("Urgence justifiée par l'état du patient", "Genuine emergency"),
    "regulated": ("Adressé par la régulation (SAS / centre 15)", "Sent by the regulator"),
    "regulated_duty": ("Garde régulée (PDSA)", "Regulated out-of-hours duty"),
    "sas_within_24h": ("Visite dans les 24 h de la demande du SAS", "Visit within 24 h of SAS"),
    "left_at_once": ("Consultations interrompues, départ immédiat", "Left at once"),
    "correspondent": ("Médecin correspondant (parcours coordonné)", "Correspondent"),
    "mt_request": ("Demande explicite du médecin traitant", "Médecin traitant's request"),
    "seen_last_4_months": ("Patient vu par le consultant < 4 mois", "Seen in the last 4 months"),
    "fast_referral": ("Rendez-vous rapide obtenu chez le correspondant", "Fast referral"),
    "home_justified": ("Visite à domicile justifiée", "Home visit justified"),
    "discharge_30d": ("Sortie d'hospitalisation < 30 jours (MSH)", "Discharge < 30 days"),
    "discharge_heart_failure": ("Sortie pour insuffisance cardiaque < 2 mois", "Heart failure"),
    "discharge_45d": ("Sortie d'hospitalisation < 45 jours (GL1)", "Discharge < 45 days"),
    "new_treating_doctor": (
        "Première visite d'un nouveau médecin traitant",
        "New médecin traitant",
    ),
    "burn_face_hands": ("Brûlure du visage ou des mains", "Burn on face or hands"),
    "ald": ("ALD (affection de longue durée)", "Long-term condition (ALD)"),
    "ald_neuro": ("ALD neurodégénérative", "Neurodegenerative ALD"),
    "palliative": ("Soins palliatifs", "Palliative care"),
    "has_treating_doctor": ("Médecin traitant déclaré", "Has a médecin traitant"),
    "unable_to_move": ("Ne peut pas se déplacer (raison médicale)", "Unable to move"),
    "mountain": ("Zone de montagne", "Mountain zone"),
    "ik_distance": ("Hors agglomération, au-delà de l'abattement (IK)", "Beyond IK allowance"),
    "on_foot_or_ski": ("Déplacement à pied ou à ski", "On foot or on skis"),
    "treating_doctor": ("Je suis le médecin traitant", "I am the médecin traitant"),
    "optam": ("Adhérent OPTAM / OPTAM-CO", "OPTAM / OPTAM-CO"),
    "pdsa_extended": ("PDSA le samedi après-midi et les ponts", "PDSA Saturday pm and bridges"),
}
"""Short labels of the yes/no fields of an encounter (form fields, column headers)."""


def flag_label(name: str, lang: str = "fr") -> str:
    labels = FLAG_LABELS.get(name)
    if labels is None:
        return name
    return labels[0] if lang == "fr" else labels[1]
