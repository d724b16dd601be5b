"""The portal's pure rules: what a member sees and how it is worded, who may see it,
sign-in codes, message rules. No I/O libraries are imported here."""

from .access import Principal, require_own
from .errors import InvalidInput, NotFound, PortalError, SignInRefused, Unavailable
from .model import CareTask, Clinician, Encounter, Gap, Member, Message, Practice, Reply

__all__ = [
    "CareTask", "Clinician", "Encounter", "Gap", "InvalidInput", "Member", "Message", "NotFound", "PortalError",
    "Practice", "Principal", "Reply", "SignInRefused", "Unavailable", "require_own",
]
