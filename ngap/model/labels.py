"""French and English words for the closed vocabulary, and the French aliases accepted at input.

One table per kind of word, in one place, so that the command line, a web calculator and the
JSON answers say the same thing: the label of every activity a doctor can record in ``done``,
the phrase for a context dimension taking a value (``call=night`` reads « appel de nuit »), the
same value as a condition (:func:`describe_context`: « si l'acte était urgent et l'appel avait
été reçu entre 19 h et 7 h », the web calculator's « Valide seulement si … »), the labels of
the yes/no input fields (:func:`flag_label`), and the French (or loose) spellings accepted at
input, normalised to the canonical values before validation so that the JSON Schema and every
answer keep the stable English identifiers.  Code labels are in ``codes.yaml``, rule messages
in ``rules.yaml``.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

from ngap.model.vocabulary import ACTIVITIES, AGE_THRESHOLDS, HOUR_BANDS, AgeThreshold

Lang = Literal["fr", "en"]
LANGS: Final = ("fr", "en")

ACTIVITY_LABELS_FR: Final[Mapping[str, str]] = {
    "consultation": "Consultation au cabinet (ou en établissement)",
    "visit": "Visite à domicile",
    "teleconsultation": "Téléconsultation vidéo",
    "tele_expertise_request": "Téléexpertise, médecin requérant",
    "tele_expertise_answer": "Téléexpertise, médecin requis",
    "consultant_opinion": "Avis ponctuel de consultant à la demande du médecin traitant (APC)",
    "child_exam_certificate": "Examen de l'enfant donnant lieu à un certificat de santé (COE)",
    "child_exam": "Autre examen obligatoire de l'enfant",
    "contraception_first": "Première consultation de contraception et de santé sexuelle (CCP)",
    "cso": "Consultation complexe : enfant de 3 à 12 ans à risque d'obésité (CSO, facturée CCX)",
    "cse": "Consultation complexe : suivi annuel d'un enfant autiste (CSE, facturée CCX)",
    "ase": "Consultation complexe ASE (facturée CCX)",
    "cte": "Consultation très complexe : repérage de l'autisme (CTE, facturée CCE)",
    "mph": "Consultation très complexe : premier dossier MDPH (MPH, facturée CCE)",
    "mis": "Information initiale sur un cancer ou une maladie neurologique grave (MIS, facturée "
    "MTX)",
    "piv": "Prise en charge initiale d'une infection par le VIH (PIV, facturée MTX)",
    "long_visit": "Visite longue du médecin traitant à domicile (VL)",
    "palliative_visit": "Visite de soins palliatifs du médecin traitant à domicile (VSP)",
    "mt_registration": "Première consultation du médecin traitant d'un patient en ALD (IMT)",
    "long_consultation_discharge": "Consultation longue, patient de 80 ans et plus, après une "
    "hospitalisation (GL1)",
    "long_consultation_deprescribing": "Consultation longue, patient de 80 ans et plus, "
    "déprescription (GL2)",
    "long_consultation_medicosocial": "Consultation longue, patient de 80 ans et plus, dossier "
    "médico-social (GL3)",
    "prevention_checkup": "Rendez-vous de prévention aux âges clés (RDV)",
    "certificate_work_accident_light": "Certificat final d'accident du travail, séquelles "
    "légères (K0,7)",
    "certificate_work_accident_serious": "Certificat final d'accident du travail, séquelles "
    "graves (K1)",
    "burn_small": "Pansement de brûlure de moins de 10 cm² (K9)",
    "burn_large": "Pansement de brûlure de plus de 10 % de la surface corporelle (K16)",
    "special_demand": "Exigence particulière du patient sur l'heure ou le lieu (DE)",
}
"""The French label of every activity of ``vocabulary.ACTIVITIES`` (the English one is there)."""

ACTIVITY_ALIASES: Final[Mapping[str, str]] = {
    "visite": "visit",
    "visite a domicile": "visit",
    "consult": "consultation",
    "teleconsult": "teleconsultation",
    "teleexpertise requerant": "tele_expertise_request",
    "teleexpertise requis": "tele_expertise_answer",
    "avis ponctuel": "consultant_opinion",
    "apc": "consultant_opinion",
    "examen enfant certificat": "child_exam_certificate",
    "examen enfant": "child_exam",
    "contraception": "contraception_first",
    "visite longue": "long_visit",
    "visite palliative": "palliative_visit",
    "inscription medecin traitant": "mt_registration",
    "prevention": "prevention_checkup",
    "exigence particuliere": "special_demand",
}
"""French (and loose) names of activities; compared without accents, case or separators."""

FLAG_WORDS: Final[Mapping[str, tuple[str, str, str, str, str, str]]] = {
    # flag: (French label, English label,
    #        French clause yes, French clause no, English clause yes, English clause no)
    "emergency": (
        "urgence justifiée par l'état du patient",
        "emergency justified by the patient's state",
        "l'acte était urgent (urgence justifiée par l'état du patient)",
        "l'acte n'était pas urgent",
        "the act was a genuine emergency",
        "the act was not urgent",
    ),
    "regulated": (
        "acte demandé par la régulation (SAS / centre 15)",
        "act requested by the regulator (SAS / centre 15)",
        "le patient était adressé par la régulation (SAS / centre 15)",
        "le patient n'était pas adressé par la régulation",
        "the regulator (SAS / centre 15) sent the patient",
        "the regulator did not send the patient",
    ),
    "regulated_duty": (
        "acte de permanence des soins régulée (PDSA)",
        "act on regulated out-of-hours duty (PDSA)",
        "le médecin était de garde régulée (PDSA)",
        "le médecin n'était pas de garde régulée",
        "the doctor was on regulated out-of-hours duty",
        "the doctor was not on regulated duty",
    ),
    "sas_within_24h": (
        "visite dans les 24 h suivant la demande du SAS",
        "visit within 24 h of the SAS request",
        "la visite avait lieu dans les 24 h de la demande du SAS",
        "la visite n'avait pas lieu dans les 24 h de la demande du SAS",
        "the visit was within 24 h of the SAS request",
        "the visit was not within 24 h of the SAS request",
    ),
    "left_at_once": (
        "consultations interrompues, départ immédiat",
        "consultations interrupted, left at once",
        "le médecin avait interrompu ses consultations pour partir immédiatement",
        "le médecin n'avait pas interrompu ses consultations",
        "the doctor interrupted consultations and left at once",
        "the doctor did not leave at once",
    ),
    "correspondent": (
        "médecin correspondant du parcours de soins",
        "correspondent in the coordinated pathway",
        "le médecin intervenait comme correspondant (parcours coordonné)",
        "le médecin n'intervenait pas comme correspondant",
        "the doctor saw the patient as correspondent",
        "the doctor was not the correspondent",
    ),
    "mt_request": (
        "à la demande explicite du médecin traitant",
        "at the explicit request of the médecin traitant",
        "le médecin traitant avait demandé explicitement l'avis",
        "le médecin traitant n'avait pas demandé l'avis",
        "the médecin traitant explicitly asked for the opinion",
        "the médecin traitant did not ask for the opinion",
    ),
    "seen_last_4_months": (
        "patient vu par le consultant dans les 4 derniers mois",
        "patient seen by the consultant in the last 4 months",
        "le consultant avait vu le patient dans les 4 derniers mois",
        "le consultant n'avait pas vu le patient dans les 4 derniers mois",
        "the consultant saw the patient in the last 4 months",
        "the consultant had not seen the patient in the last 4 months",
    ),
    "fast_referral": (
        "rendez-vous chez le correspondant obtenu dans le délai",
        "correspondent appointment obtained within the delay",
        "le médecin traitant avait obtenu un rendez-vous rapide chez le correspondant",
        "aucun rendez-vous rapide n'avait été obtenu",
        "the médecin traitant obtained a fast correspondent appointment",
        "no fast correspondent appointment",
    ),
    "home_justified": (
        "visite à domicile justifiée",
        "home visit justified",
        "la visite à domicile était justifiée",
        "la visite à domicile n'était pas justifiée",
        "the home visit was justified",
        "the home visit was not justified",
    ),
    "ald": (
        "patient en ALD exonérante",
        "patient with an exempting long-term condition (ALD)",
        "le patient était en ALD",
        "le patient n'était pas en ALD",
        "the patient had a long-term condition (ALD)",
        "the patient had no ALD",
    ),
    "ald_neuro": (
        "ALD pour une maladie neurodégénérative",
        "ALD for a neurodegenerative disease",
        "le patient était en ALD pour une maladie neurodégénérative",
        "le patient n'était pas en ALD neurodégénérative",
        "the ALD was a neurodegenerative disease",
        "no neurodegenerative ALD",
    ),
    "palliative": (
        "patient en soins palliatifs",
        "patient in palliative care",
        "le patient était en soins palliatifs",
        "le patient n'était pas en soins palliatifs",
        "the patient was in palliative care",
        "the patient was not in palliative care",
    ),
    "discharge_30d": (
        "dans les 30 jours d'une sortie d'hospitalisation",
        "within 30 days of a hospital discharge",
        "le patient était sorti d'hospitalisation depuis moins de 30 jours",
        "le patient n'était pas sorti d'hospitalisation depuis moins de 30 jours",
        "within 30 days of a qualifying discharge",
        "not within 30 days of a qualifying discharge",
    ),
    "discharge_heart_failure": (
        "dans les 2 mois d'une sortie pour insuffisance cardiaque",
        "within 2 months of a heart-failure discharge",
        "le patient était sorti depuis moins de 2 mois pour insuffisance cardiaque",
        "pas de sortie récente pour insuffisance cardiaque",
        "within 2 months of a heart-failure discharge",
        "no recent heart-failure discharge",
    ),
    "discharge_45d": (
        "dans les 45 jours d'une sortie d'hospitalisation",
        "within 45 days of a hospital discharge",
        "le patient était sorti d'hospitalisation depuis moins de 45 jours",
        "le patient n'était pas sorti d'hospitalisation depuis moins de 45 jours",
        "within 45 days of a discharge",
        "not within 45 days of a discharge",
    ),
    "has_treating_doctor": (
        "patient ayant déclaré un médecin traitant",
        "patient has declared a médecin traitant",
        "le patient avait déclaré un médecin traitant",
        "le patient n'avait pas de médecin traitant déclaré",
        "the patient had declared a médecin traitant",
        "the patient had no médecin traitant",
    ),
    "new_treating_doctor": (
        "première visite d'un nouveau médecin traitant",
        "first visit of a new médecin traitant",
        "c'était la première visite d'un nouveau médecin traitant",
        "ce n'était pas la première visite d'un nouveau médecin traitant",
        "this was the first visit of a new médecin traitant",
        "not the first visit of a new médecin traitant",
    ),
    "unable_to_move": (
        "patient ne pouvant se déplacer",
        "patient unable to move",
        "le patient ne pouvait pas se déplacer pour raison médicale",
        "le patient pouvait se déplacer",
        "the patient could not move for a medical reason",
        "the patient could move",
    ),
    "mountain": (
        "zone de montagne",
        "mountain zone",
        "le domicile ou le cabinet était en zone de montagne",
        "ni le domicile ni le cabinet n'étaient en zone de montagne",
        "home or practice in a mountain zone",
        "not in a mountain zone",
    ),
    "ik_distance": (
        "déplacement hors agglomération au-delà de l'abattement",
        "trip outside the town beyond the allowance",
        "le déplacement sortait de l'agglomération au-delà de l'abattement",
        "le déplacement ne dépassait pas l'abattement",
        "the trip went beyond the IK allowance",
        "the trip stayed within the IK allowance",
    ),
    "on_foot_or_ski": (
        "déplacement à pied ou à ski",
        "trip on foot or on skis",
        "le déplacement s'était fait à pied ou à ski",
        "le déplacement ne s'était pas fait à pied ou à ski",
        "the trip was made on foot or on skis",
        "the trip was not made on foot or on skis",
    ),
    "multiple_recent_trauma": (
        "lésions traumatiques multiples et récentes",
        "several recent traumatic lesions",
        "les actes traitaient des lésions traumatiques multiples et récentes",
        "les actes ne traitaient pas des lésions traumatiques multiples et récentes",
        "the acts treated several recent traumatic lesions",
        "the acts did not treat several recent traumatic lesions",
    ),
    "different_limbs": (
        "actes sur des membres différents",
        "acts on different limbs",
        "les actes portaient sur des membres différents (ou le tronc ou la tête et un membre)",
        "les actes ne portaient pas sur des membres différents",
        "the acts were on different limbs (or the trunk or head and a limb)",
        "the acts were not on different limbs",
    ),
    "burn_face_hands": (
        "brûlure du visage ou des mains",
        "burn on the face or hands",
        "la brûlure touchait le visage ou les mains",
        "la brûlure ne touchait ni le visage ni les mains",
        "the burn was on the face or hands",
        "the burn was not on the face or hands",
    ),
    "treating": (
        "le médecin est le médecin traitant",
        "the doctor is the médecin traitant",
        "le médecin était le médecin traitant du patient",
        "le médecin n'était pas le médecin traitant du patient",
        "the doctor was the patient's médecin traitant",
        "the doctor was not the patient's médecin traitant",
    ),
    "pdsa_extended": (
        "PDSA étendue au samedi après-midi et aux ponts",
        "out-of-hours duty extended to Saturday afternoon and bridge days",
        "l'arrêté régional de PDSA couvrait le samedi après-midi et les ponts",
        "l'arrêté régional de PDSA ne couvrait pas le samedi après-midi ni les ponts",
        "the regional PDSA order covered Saturday afternoon and bridge days",
        "the regional PDSA order did not cover Saturday afternoon and bridge days",
    ),
}
"""The yes/no circumstances of ``vocabulary.FLAGS``: a short label (« urgence justifiée par l'état
du patient ») and the clauses that read after « si » / "if" (« l'acte était urgent … »)."""

FLAG_LABELS_FR: Final[Mapping[str, str]] = {flag: words[0] for flag, words in FLAG_WORDS.items()}
FLAG_LABELS_EN: Final[Mapping[str, str]] = {flag: words[1] for flag, words in FLAG_WORDS.items()}


FLAG_NEGATIVES: Final[Mapping[str, tuple[str, str]]] = {
    "emergency": ("pas d'urgence", "no emergency"),
    "regulated": ("sans demande de la régulation", "not requested by the regulator"),
    "regulated_duty": ("hors permanence des soins régulée", "not on regulated duty"),
    "home_justified": ("visite à domicile non justifiée", "home visit not justified"),
    "treating": ("le médecin n'est pas le médecin traitant", "not the médecin traitant"),
    "ald": ("patient sans ALD exonérante", "patient without an exempting ALD"),
}
"""The negation of the flags most often assumed, where « … : non » would read badly."""


_VALUES: Final[Mapping[str, Mapping[str, tuple[str, str, str, str]]]] = {
    "call": {
        "night": (
            "appel de nuit",
            "night call",
            "l'appel avait été reçu entre 19 h et 7 h",
            "the call came between 7 pm and 7 am",
        ),
        "day": (
            "appel de jour",
            "day call",
            "l'appel avait été reçu entre 7 h et 19 h",
            "the call came between 7 am and 7 pm",
        ),
    },
    "day": {
        "weekday": (
            "jour de semaine",
            "weekday",
            "le jour était un jour de semaine",
            "the day was a weekday",
        ),
        "saturday": (
            "samedi",
            "Saturday",
            "le jour était un samedi",
            "the day was a Saturday",
        ),
        "sunday": (
            "dimanche",
            "Sunday",
            "le jour était un dimanche",
            "the day was a Sunday",
        ),
        "holiday": (
            "jour férié",
            "public holiday",
            "le jour était férié",
            "the day was a public holiday",
        ),
    },
    "bridge": {
        "yes": (
            "jour de pont",
            "bridge day",
            "le jour était un jour de pont",
            "the day was a bridge day",
        ),
        "no": (
            "pas un jour de pont",
            "no bridge",
            "le jour n'était pas un jour de pont",
            "the day was not a bridge day",
        ),
    },
    "place": {
        "office": (
            "au cabinet",
            "at the office",
            "l'acte avait lieu au cabinet",
            "the act took place at the office",
        ),
        "home": (
            "à domicile",
            "at home",
            "l'acte avait lieu au domicile du patient",
            "the act took place at home",
        ),
        "institution": (
            "en établissement",
            "in an institution",
            "l'acte avait lieu en établissement",
            "the act took place in an institution",
        ),
        "tele": (
            "à distance",
            "at a distance",
            "l'acte était une téléconsultation",
            "the act was a teleconsultation",
        ),
    },
    "specialty": {
        "gp": (
            "médecin généraliste",
            "general practitioner",
            "le médecin était généraliste",
            "the doctor was a GP",
        ),
        "gp_specialist": (
            "spécialiste qualifié en médecine générale",
            "qualified GP specialist",
            "le médecin était spécialiste qualifié en médecine générale",
            "the doctor was a qualified specialist in general medicine",
        ),
    },
    "sector": {
        "s1": (
            "secteur 1",
            "sector 1",
            "le médecin était en secteur 1",
            "the doctor was in sector 1",
        ),
        "s2_optam": (
            "secteur 2 avec OPTAM",
            "sector 2 with OPTAM",
            "le médecin était en secteur 2 adhérent à l'OPTAM",
            "the doctor was in sector 2 with OPTAM",
        ),
        "s2": (
            "secteur 2 sans OPTAM",
            "sector 2 without OPTAM",
            "le médecin était en secteur 2 sans OPTAM",
            "the doctor was in sector 2 without OPTAM",
        ),
    },
    "rate": {
        "opposable": (
            "tarif opposable",
            "opposable rate",
            "l'acte était facturé au tarif opposable",
            "billed at the opposable rate",
        ),
        "above": (
            "dépassement d'honoraires",
            "above the opposable rate",
            "l'acte était facturé avec dépassement",
            "billed above the opposable rate",
        ),
    },
    "sex": {
        "f": (
            "femme",
            "female",
            "la patiente était une femme",
            "the patient was female",
        ),
        "m": (
            "homme",
            "male",
            "le patient était un homme",
            "the patient was male",
        ),
    },
    "department": {
        "none": (
            "métropole",
            "metropolitan France",
            "l'acte avait lieu en métropole",
            "the act took place in metropolitan France",
        ),
        "unknown": (
            "département d'outre-mer non précisé",
            "overseas department not named",
            "le département d'outre-mer n'était pas précisé",
            "the overseas department was not named",
        ),
        "d971": ("Guadeloupe", "Guadeloupe", "l'acte avait lieu en Guadeloupe",
                 "the act took place in Guadeloupe"),
        "d972": ("Martinique", "Martinique", "l'acte avait lieu en Martinique",
                 "the act took place in Martinique"),
        "d973": ("Guyane", "French Guiana", "l'acte avait lieu en Guyane",
                 "the act took place in French Guiana"),
        "d974": ("La Réunion", "Réunion", "l'acte avait lieu à La Réunion",
                 "the act took place in Réunion"),
        "d976": ("Mayotte", "Mayotte", "l'acte avait lieu à Mayotte",
                 "the act took place in Mayotte"),
    },
    "zone": {
        "metro": (
            "métropole",
            "metropolitan France",
            "l'acte avait lieu en métropole",
            "the act took place in metropolitan France",
        ),
        "drom": (
            "outre-mer",
            "overseas",
            "l'acte avait lieu dans un DROM",
            "the act took place overseas (DROM)",
        ),
    },
    "exam_window": {
        "coe": (
            "fenêtre d'un examen de l'enfant à certificat",
            "window of a certificate exam",
            "l'enfant était dans la période d'un examen donnant lieu à certificat",
            "the child was in the window of an exam with a health certificate",
        ),
        "mandatory": (
            "fenêtre d'un autre examen obligatoire",
            "window of another mandatory exam",
            "l'enfant était dans la période d'un autre examen obligatoire",
            "the child was in the window of another mandatory exam",
        ),
        "none": (
            "hors fenêtre d'examen obligatoire",
            "outside any mandatory-exam window",
            "l'enfant n'était dans la période d'aucun examen obligatoire",
            "the child was in no mandatory exam window",
        ),
    },
    "trip": {
        "single": (
            "patient seul",
            "single patient",
            "le patient était seul vu lors du déplacement",
            "one patient on the trip",
        ),
        "household_2_3": (
            "2e ou 3e patient du foyer",
            "2nd or 3rd patient of the household",
            "le patient était le 2e ou 3e du même foyer",
            "the patient was the 2nd or 3rd of one household",
        ),
        "household_4plus": (
            "4e patient du foyer ou suivant",
            "4th or later of the household",
            "le patient était le 4e ou plus du même foyer",
            "the patient was the 4th or later of one household",
        ),
        "institution_next": (
            "patient suivant en établissement",
            "later patient, institution",
            "le patient n'était pas le premier vu dans l'établissement",
            "the patient was a later patient in one institution",
        ),
        "ehpad_2_3": (
            "2e ou 3e patient en EHPAD",
            "2nd or 3rd patient in an EHPAD",
            "le patient était le 2e ou 3e vu en EHPAD",
            "the patient was the 2nd or 3rd seen in an EHPAD",
        ),
    },
}
"""Enumerated dimensions: (French phrase, English phrase, French clause, English clause).

A phrase names the value (« appel de nuit »); a clause reads after « si » / "if" (« l'appel
avait été reçu entre 19 h et 7 h »).
"""

DIMENSION_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "hour": ("heure", "hour"),
    "call": ("appel", "call"),
    "day": ("jour", "day"),
    "bridge": ("pont", "bridge day"),
    "place": ("lieu", "place"),
    "specialty": ("spécialité", "specialty"),
    "sector": ("secteur", "sector"),
    "rate": ("tarif", "rate"),
    "sex": ("sexe", "sex"),
    "age": ("âge", "age"),
    "zone": ("zone", "zone"),
    "department": ("département", "department"),
    "exam_window": ("examen de l'enfant", "child exam"),
    "trip": ("déplacement", "trip"),
    "era": ("période tarifaire", "tariff era"),
}


_HOURS: Final = re.compile(r"^h([01]\d|2[0-4])_([01]\d|2[0-4])$")


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "fr" else pair[1]


def activity_label(activity: str, lang: Lang = "fr") -> str:
    """The label of an activity of ``done`` (a CCAM code is its own label here)."""
    if lang == "fr":
        return ACTIVITY_LABELS_FR.get(activity, activity)
    return ACTIVITIES.get(activity, activity).rstrip(".")


def _hour_band(band: str, lang: Lang) -> str:
    start, end = (int(part) for part in band[1:].split("_"))
    if lang == "fr":
        fin = "minuit" if end == 24 else f"{end} h"
        return f"entre {start} h et {fin}"
    return f"between {start:02d}:00 and {end:02d}:00"


def _threshold(threshold: AgeThreshold, lang: Lang) -> str:
    if threshold.days:
        return f"{threshold.days} {'jours' if lang == 'fr' else 'days'}"
    if threshold.months % 12 == 0:
        return f"{threshold.months // 12} {'ans' if lang == 'fr' else 'years'}"
    return f"{threshold.months} {'mois' if lang == 'fr' else 'months'}"


def _age_band(band: str, lang: Lang) -> str:
    index = int(band[1:])
    low = AGE_THRESHOLDS[index - 1] if index > 0 else None
    high = AGE_THRESHOLDS[index] if index < len(AGE_THRESHOLDS) else None
    if low is None and high is not None:
        return f"{'moins de' if lang == 'fr' else 'under'} {_threshold(high, lang)}"
    if high is None and low is not None:
        return f"{_threshold(low, lang)} {'et plus' if lang == 'fr' else 'or more'}"
    assert low is not None and high is not None
    if lang == "fr":
        return f"âge de {_threshold(low, lang)} à moins de {_threshold(high, lang)}"
    return f"aged {_threshold(low, lang)} to under {_threshold(high, lang)}"


def phrase(dimension: str, value: str, lang: Lang = "fr") -> str:
    """One context dimension taking one value, in plain words: ``call=night`` → « appel de nuit ».

    Every dimension of the rule base has a phrase; an unforeseen pair falls back to
    ``dimension = value`` rather than failing (a new dimension must not break an answer).
    """
    if dimension == "hour" and _HOURS.match(value):
        return _hour_band(value, lang)
    if dimension == "age" and value[:1] == "a" and value[1:].isdigit():
        return _age_band(value, lang)
    if dimension in _VALUES and value in _VALUES[dimension]:
        fr, en, _, _ = _VALUES[dimension][value]
        return _pick((fr, en), lang)
    labels = FLAG_LABELS_FR if lang == "fr" else FLAG_LABELS_EN
    if dimension in labels and value in ("yes", "no"):
        if value == "yes":
            return labels[dimension]
        if dimension in FLAG_NEGATIVES:
            return _pick(FLAG_NEGATIVES[dimension], lang)
        return f"{labels[dimension]} : non" if lang == "fr" else f"not: {labels[dimension]}"
    if dimension.startswith("done:") and value in ("yes", "no"):
        act = activity_label(dimension[5:], lang)
        if lang == "fr":
            return f"acte réalisé : {act}" if value == "yes" else f"acte non réalisé : {act}"
        return f"performed: {act}" if value == "yes" else f"not performed: {act}"
    name = _pick(DIMENSION_NAMES[dimension], lang) if dimension in DIMENSION_NAMES else dimension
    return f"{name} = {value}"


def phrase_assumed(assumed: Mapping[str, str], lang: Lang = "fr") -> str:
    """« en supposant : appel de nuit, urgence… » for the context the solver chose."""
    parts = ", ".join(phrase(dim, value, lang) for dim, value in sorted(assumed.items()))
    return f"en supposant : {parts}" if lang == "fr" else f"assuming: {parts}"


def _merge_hours(values: Iterable[str]) -> list[str]:
    """Contiguous hour bands as one: h06_07 + h07_08 → h06_08 (read « entre 6 h et 8 h »)."""
    spans: list[list[int]] = []
    for band in sorted(values):
        start, end = (int(part) for part in band[1:].split("_"))
        if spans and spans[-1][1] == start:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [f"h{start:02d}_{end:02d}" for start, end in spans]


def phrase_condition(dimension: str, values: Iterable[str], lang: Lang = "fr") -> str:
    """One condition of a conditional verdict: the dimension must take one of these values."""
    values = list(values)
    if dimension == "hour" and all(v in HOUR_BANDS for v in values):
        values = _merge_hours(values)
    return (" ou " if lang == "fr" else " or ").join(phrase(dimension, v, lang) for v in values)


# ---------------------------------------------------------------------------------------------
# Clauses: the context as a condition, « si l'acte était urgent et l'appel … »

def _age_clause(band: str, lang: Lang) -> str:
    index = int(band[1:])
    low = AGE_THRESHOLDS[index - 1] if index > 0 else None
    high = AGE_THRESHOLDS[index] if index < len(AGE_THRESHOLDS) else None
    if lang == "fr":
        if low is None and high is not None:
            return f"le patient avait moins de {_threshold(high, lang)}"
        if high is None and low is not None:
            return f"le patient avait {_threshold(low, lang)} ou plus"
        assert low is not None and high is not None
        low_text, high_text = _threshold(low, lang), _threshold(high, lang)
        return f"le patient avait entre {low_text} et moins de {high_text}"
    if low is None and high is not None:
        return f"the patient was under {_threshold(high, lang)}"
    if high is None and low is not None:
        return f"the patient was {_threshold(low, lang)} or older"
    assert low is not None and high is not None
    return f"the patient was {_threshold(low, lang)} to under {_threshold(high, lang)}"


def _hour_spans(bands: Iterable[str], lang: Lang) -> list[str]:
    """Hour bands, contiguous ones merged: « l'acte avait lieu entre 20 h et 24 h »."""
    spans = [tuple(int(part) for part in band[1:].split("_")) for band in _merge_hours(bands)]
    if lang == "fr":
        texts = [f"entre {start} h et {end} h" for start, end in spans]
        return [f"l'acte avait lieu {texts[0]}", *texts[1:]]
    texts = [f"between {start}:00 and {end}:00" for start, end in spans]
    return [f"the act took place {texts[0]}", *texts[1:]]


def context_clause(dimension: str, value: str, lang: Lang = "fr") -> str:
    """One context value as a clause that reads after « si » (French) or "if" (English)."""
    if dimension == "hour" and value in HOUR_BANDS:
        return _hour_spans([value], lang)[0]
    if dimension == "age" and value[:1] == "a" and value[1:].isdigit():
        return _age_clause(value, lang)
    if dimension in _VALUES and value in _VALUES[dimension]:
        _, _, fr, en = _VALUES[dimension][value]
        return _pick((fr, en), lang)
    if dimension in FLAG_WORDS and value in ("yes", "no"):
        _, _, fr_yes, fr_no, en_yes, en_no = FLAG_WORDS[dimension]
        if lang == "fr":
            return fr_yes if value == "yes" else fr_no
        return en_yes if value == "yes" else en_no
    if dimension.startswith("done:") and value in ("yes", "no"):
        label = activity_label(dimension[5:], lang)
        if lang == "fr":
            done = "avait été réalisé" if value == "yes" else "n'avait pas été réalisé"
            return f"l'acte « {label} » {done}"
        return f"“{label}” was performed" if value == "yes" else f"“{label}” was not performed"
    if dimension.startswith("km_bit_"):
        return "le kilométrage était différent" if lang == "fr" else "the distance was different"
    return phrase(dimension, value, lang)


def dimension_clause(dimension: str, values: Sequence[str], lang: Lang = "fr") -> str:
    """A dimension that may take any of ``values``: the clauses joined by « ou » / "or"."""
    sep = " ou " if lang == "fr" else " or "
    if dimension == "hour" and values and all(v in HOUR_BANDS for v in values):
        return sep.join(_hour_spans(values, lang))
    return sep.join(context_clause(dimension, v, lang) for v in values)


def describe_context(context: Mapping[str, str | Sequence[str]], lang: Lang = "fr") -> str:
    """« si l'acte était urgent et l'appel avait été reçu entre 19 h et 7 h » (empty: "")."""
    if not context:
        return ""
    parts = [
        dimension_clause(dim, [value] if isinstance(value, str) else list(value), lang)
        for dim, value in context.items()
    ]
    return "si " + " et ".join(parts) if lang == "fr" else "if " + " and ".join(parts)


FIELD_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "treating_doctor": ("Je suis le médecin traitant", "I am the médecin traitant"),
    "optam": ("Adhérent OPTAM / OPTAM-CO", "OPTAM / OPTAM-CO"),
}
"""Form labels of the yes/no input fields that are not circumstances of ``FLAG_LABELS_FR``."""


def flag_label(name: str, lang: Lang = "fr") -> str:
    """The label of a yes/no input field (a form check box, a column header), capitalised."""
    if name in FIELD_LABELS:
        return _pick(FIELD_LABELS[name], lang)
    labels = FLAG_LABELS_FR if lang == "fr" else FLAG_LABELS_EN
    text = labels.get(name, name)
    return text[:1].upper() + text[1:]


def both(text_of: Mapping[Lang, str]) -> dict[str, str]:
    """The ``{"fr": …, "en": …}`` object of the JSON answers."""
    return {lang: text_of[lang] for lang in LANGS}


# ---------------------------------------------------------------------------------------------
# Aliases accepted at input

def fold(text: str) -> str:
    """Lower case, no accents, single spaces: « Établissement » → « etablissement »."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    for sep in ("_", "-", "'", "’"):
        bare = bare.replace(sep, " ")
    return " ".join(bare.split())


ENUM_ALIASES: Final[Mapping[str, Mapping[str, str]]] = {
    "place": {
        "cabinet": "office",
        "consultation": "office",
        "domicile": "home",
        "visite": "home",
        "etablissement": "institution",
        "ehpad": "institution",
        "teleconsultation": "tele",
        "distance": "tele",
        "a distance": "tele",
    },
    "sex": {
        "homme": "m",
        "h": "m",
        "masculin": "m",
        "male": "m",
        "femme": "f",
        "feminin": "f",
        "female": "f",
    },
    "sector": {
        "secteur 1": "1",
        "s1": "1",
        "secteur 2": "2",
        "s2": "2",
        "1 dp": "2",
        "secteur 1 dp": "2",
    },
    "rate": {"depassement": "above", "tarif opposable": "opposable"},
    "specialty": {
        "mg": "gp",
        "medecin generaliste": "gp",
        "generaliste": "gp",
        "specialiste en medecine generale": "gp_specialist",
    },
    "zone": {"metropole": "metro", "dom": "drom", "outre mer": "drom"},
    "trip": {
        "seul": "single",
        "foyer 2 3": "household_2_3",
        "foyer 4": "household_4plus",
        "etablissement suivant": "institution_next",
        "ehpad 2 3": "ehpad_2_3",
    },
}
"""French and loose spellings of enumerated fields, keyed by their folded form."""

YES_ALIASES: Final = frozenset({"oui", "o", "vrai", "yes", "y", "true"})
NO_ALIASES: Final = frozenset({"non", "n", "faux", "no", "false"})


@functools.lru_cache(maxsize=64)
def _folded(values: tuple[str, ...]) -> dict[str, str]:
    return {fold(v): v for v in values}


@functools.lru_cache(maxsize=4096)
def _fold_cached(text: str) -> str:
    return fold(text)


def canonical(kind: str, value: str, valid: Iterable[str]) -> str:
    """The canonical value of an enumerated input written its own way, or the input unchanged.

    ``kind`` is the field (``place``, ``sex``…); ``valid`` its canonical values.  A value is
    matched on its folded form (case, accents and separators ignored), against the canonical
    values first, then the aliases.  An unknown value is returned as is, for the validator to
    refuse it with the closest suggestion.
    """
    valid = tuple(valid)
    if value in valid:
        return value
    folded = _fold_cached(value)
    found = _folded(valid).get(folded)
    if found is not None:
        return found
    return ENUM_ALIASES.get(kind, {}).get(folded, value)


def canonical_activity(value: str, known: Iterable[str]) -> str:
    """The activity (or CCAM code) meant by ``value``: canonical names, French aliases, labels."""
    known = tuple(known)
    if value in known:
        return value
    folded = _fold_cached(value)
    found = _folded(known).get(folded)
    if found is not None:
        return found
    if folded in ACTIVITY_ALIASES:
        return ACTIVITY_ALIASES[folded]
    return _activity_by_label().get(folded, value)


@functools.cache
def _activity_by_label() -> dict[str, str]:
    """Folded French label → activity (« Visite à domicile » → ``visit``)."""
    return {fold(label): activity for activity, label in ACTIVITY_LABELS_FR.items()}


def canonical_flag(value: object) -> object:
    """``oui`` / ``non`` (and friends) as booleans; anything else unchanged."""
    if isinstance(value, str):
        folded = _fold_cached(value)
        if folded in YES_ALIASES:
            return True
        if folded in NO_ALIASES:
            return False
    return value


def closest(value: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The closest valid values, for an error message (canonical spellings only)."""
    pool = list(dict.fromkeys(candidates))
    by_fold = {fold(c): c for c in pool}
    found = difflib.get_close_matches(fold(value), list(by_fold), n=n, cutoff=0.5)
    return [by_fold[f] for f in found]


def suggestion(value: str, candidates: Iterable[str], aliases: Mapping[str, str] | None = None,
               lang: Lang = "fr") -> str:
    """« ; vouliez-vous dire office ? » or an empty string when nothing is close."""
    pool = list(candidates)
    close = closest(value, [*pool, *(aliases or {})])
    resolved = list(dict.fromkeys((aliases or {}).get(fold(c), c) for c in close))
    if not resolved:
        return ""
    words = ", ".join(resolved)
    return f" ; vouliez-vous dire {words} ?" if lang == "fr" else f"; did you mean {words}?"
