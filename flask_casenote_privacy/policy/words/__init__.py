"""The interface words (ko/en), by page; looked up through policy/i18n.py's ``ui()``
(and, for the audit pages, ``audit.audit_words``)."""
