"""Batch audit of coded encounters (``ngap audit``): readers, chunk core, engines, report."""
