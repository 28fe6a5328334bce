"""Domain verbs: plain functions that change state, write the audit log and flush. The request commits."""


class DomainError(Exception):
    """A refusal a user can read: the Chinese message, and the form field it concerns if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleError(DomainError):
    """The page showed an older version: someone (or another tab) acted first. Nothing was changed."""
