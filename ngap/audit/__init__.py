"""Batch audit of coded encounters (``ngap audit``): readers, chunk core, engines, report."""


class AuditFault(Exception):
    """An environment fault the audit cannot go past (exit 3), e.g. its output directory is
    in use by another process.  Defined here, apart from the engines, so that the command line
    can name it without loading them."""
