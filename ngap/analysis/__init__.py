"""Rule-set analysis: questions over every context, defects of the rule base, vendor validation.

Why: the engine (``ngap.solver``) judges one encounter; this package asks the same rule base
questions about *all* encounters at once — which codes can ever be billed, which pairs together
(the co-billability matrix per era), which rules never fire or are implied by others — and
compares a vendor's exported rule set with the model, each answer with a witness encounter that
``ngap check`` replays.

Modules: ``space`` (one grounding per era with every context open), ``witness`` (witness context
-> encounter JSON), ``rulebase`` (defect report, allow-list), ``vendor_io`` / ``vendor`` (reading
and validating vendor rule sets), ``baseline`` (accepted differences, kind filter, triage of a
validation for CI), ``export`` (the model as a vendor rule set), ``render`` / ``html`` /
``ci_formats`` (text, JSON, GraphML, DOT, HTML, JUnit XML, SARIF), ``cli`` (``register(app)``:
``ngap analyse``, ``ngap validate-ruleset``).
"""

from ngap.analysis.rulebase import Analyser, analyse
from ngap.analysis.space import EraSpace
from ngap.analysis.vendor import Validator, validate

__all__ = ["Analyser", "EraSpace", "Validator", "analyse", "validate"]
