"""ngap: the NGAP billing rules for general practitioners, as Answer Set Programming.

>>> from ngap import Nomenclature, Encounter
>>> nomenclature = Nomenclature.load()          # grounds the rule base once
>>> result = nomenclature.optimise(encounter)   # maximal legitimate cotation
"""

from ngap.model.encounter import Encounter
from ngap.solver.engine import Nomenclature, UnknownCodeError

__all__ = ["Encounter", "Nomenclature", "UnknownCodeError"]
__version__ = "0.3.0"
