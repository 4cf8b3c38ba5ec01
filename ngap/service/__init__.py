"""The REST service and the French web calculator (``ngap serve``)."""
