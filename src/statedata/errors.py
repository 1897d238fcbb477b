"""Typed errors of every part, each with a stable `code` and a plain-language message.

They are mapped to HTTP responses in `api/errors.py` and to CLI messages in `cli.py`, nowhere
else.
"""

from __future__ import annotations


class StatedataError(Exception):
    """Base of every error a user may see. `status` is the HTTP status it maps to."""

    code = "statedata.error"
    status = 400

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class NotFound(StatedataError):
    code = "not-found"
    status = 404


class DatasetNotFound(NotFound):
    code = "dataset.missing"


class AgencyNotFound(NotFound):
    code = "agency.missing"


class FileNotFound(NotFound):
    code = "file.missing"


class InvalidInput(StatedataError):
    """A value given by the user does not fit (an unknown category, a bad id, ...)."""

    code = "input.invalid"


class AlreadyExists(StatedataError):
    code = "already-exists"
    status = 409


class IngestError(StatedataError):
    """A file could not be read or did not fit; nothing was published."""

    code = "ingest.invalid"
    status = 422


class PublishError(StatedataError):
    """Rows were read but could not be combined with the current version."""

    code = "publish.invalid"
    status = 422


class PublishConflict(PublishError):
    """Another publish changed the dataset while this one ran."""

    code = "publish.conflict"
    status = 409


class AuthenticationRequired(StatedataError):
    """The request needs credentials (an API key, or for SODA 3 an app token) and has none."""

    code = "authentication.required"
    status = 401


class AuthenticationFailed(StatedataError):
    """Credentials were given but do not match a live key."""

    code = "authentication.invalid"
    status = 401


class UserNotFound(NotFound):
    code = "user.missing"


class PayloadTooLarge(StatedataError):
    code = "request.too-large"
    status = 413


class Forbidden(StatedataError):
    code = "access.forbidden"
    status = 403


class CsrfFailed(Forbidden):
    """A form or call sent with a session cookie but without the session's CSRF token."""

    code = "csrf.invalid"


class Conflict(StatedataError):
    """The change does not fit the thing's current state (a stage skipped, a vote repeated)."""

    code = "state.conflict"
    status = 409


class RateLimited(StatedataError):
    code = "request.rate-limited"
    status = 429


class AuthorityNotFound(NotFound):
    code = "authority.missing"


class AgreementNotFound(NotFound):
    code = "agreement.missing"


class NoticeNotFound(NotFound):
    code = "notice.missing"


class SuggestionNotFound(NotFound):
    code = "suggestion.missing"


class SuggestionDuplicate(AlreadyExists):
    """An open suggestion already asks for this; vote for it instead."""

    code = "suggestion.duplicate"


class SpamSuspected(InvalidInput):
    """A submission that looks automated: a filled honeypot field, too many links."""

    code = "submission.spam"


class FeedNotFound(NotFound):
    code = "feed.missing"


class FeedSourceError(StatedataError):
    """A feed's source could not be read: down, too slow, the wrong format, or changed."""

    code = "feed.source"
    status = 422


class FeedSourceNotAllowed(InvalidInput):
    """A feed's source reaches what feeds may not: an internal address, a database the
    operator did not name, a folder outside the drop root."""

    code = "feed.source_not_allowed"


# Errors of later parts go above this line, each with its own code.


def from_validation(error: Exception) -> InvalidInput:
    """A pydantic ValidationError as one plain message naming each bad field."""
    problems = []
    for item in getattr(error, "errors", lambda: [])():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        message = str(item.get("msg", "is not valid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "is not a name we know (check its spelling)"
        problems.append(f"{where}: {message}" if where else message)
    text = "; ".join(problems) or str(error)
    return InvalidInput(f"Some values are not valid: {text}.", problems=problems)
