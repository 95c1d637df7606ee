"""What a citizen is told when the SMS provider did not take a message.

Nothing reached the phone in either case, so the request that asked for the message
changes nothing (`services.codes` withdraws the code and gives the request back).
"""

from __future__ import annotations

from shahr.kernel.errors import DomainError

# Long enough for a provider's blip to pass; short enough that a citizen waits for it.
SMS_RETRY_AFTER_S = 60


class SmsNotSentError(DomainError):
    """The SMS provider did not take the message."""


class SmsUnavailableError(SmsNotSentError):
    """The provider is down, slow, out of credit or refusing our key: try again later."""


class PhoneNotReachableError(SmsNotSentError):
    """The provider refuses this number as a receptor."""


def sms_unavailable() -> SmsUnavailableError:
    return SmsUnavailableError(
        "The code could not be sent. Try again in a minute.",
        field="phone",
        retry_after_s=SMS_RETRY_AFTER_S,
    )


def phone_not_reachable() -> PhoneNotReachableError:
    return PhoneNotReachableError(
        "Text messages cannot be sent to this number. Check it, or use another mobile number.",
        field="phone",
    )
