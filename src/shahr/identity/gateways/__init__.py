"""Identity's port to an SMS provider, with its adapters.

`port` names what is asked; `console` prints each text (development, demo, tests);
`kavenegar` sends through Kavenegar's REST API (docs/decisions/0029).
"""

from shahr.identity.gateways.console import ConsoleSms, SmsMessage
from shahr.identity.gateways.kavenegar import KavenegarSms
from shahr.identity.gateways.port import SMS, SMS_TEXT_FA, SmsGateway

__all__ = ["SMS", "SMS_TEXT_FA", "ConsoleSms", "KavenegarSms", "SmsGateway", "SmsMessage"]
