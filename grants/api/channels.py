"""The caller's Telegram and SMS channels and the channels each alert kind reaches them on."""

from flask import jsonify

from ..channels import services, sms, telegram
from ..channels.models import CHANNELS
from .core import current_api_user, endpoint
from .schema import Body, body

CHANNEL_LIST = {"type": "array", "maxItems": 3, "items": {"type": "string", "enum": list(CHANNELS)}}
CHANNELS_SCHEMA = {
    "type": "object",
    "properties": {
        "telegram": {"type": "object", "properties": {
            "available": {"type": "boolean"}, "linked": {"type": "boolean"},
            "username": {"type": "string", "nullable": True}}},
        "sms": {"type": "object", "properties": {
            "available": {"type": "boolean"}, "verified": {"type": "boolean"},
            "phone": {"type": "string", "nullable": True, "description": "Masked: +7 701 *** ** 78"}}},
        "choices": {"type": "object", "additionalProperties": CHANNEL_LIST,
                    "description": "Alert kind → the channels it is sent on (email alone where never chosen)."},
    },
}  # fmt: skip
CHOICES_BODY = Body(
    {
        "type": "object",
        "required": ["choices"],
        "properties": {
            "choices": {
                "type": "object",
                "maxProperties": 50,
                "additionalProperties": CHANNEL_LIST,
                "description": "Alert kind → channels. Kinds left out keep their channels; telegram needs a linked "
                "chat and sms a verified phone (else 422).",
            }
        },
    }
)


def channels_json(user) -> dict:
    link, number = services.telegram_link(user), services.phone_number(user)
    return {
        "telegram": {"available": telegram.configured(), "linked": link is not None,
                     "username": link.username if link else None},
        "sms": {"available": sms.configured(), "verified": number is not None,
                "phone": sms.mask(number.phone) if number else None},
        "choices": {kind: sorted(chosen) for kind, chosen in services.choices(user).items()},
    }  # fmt: skip


@endpoint("/me/channels", "GET", summary="The caller's Telegram, SMS and per-alert channel choices",
          response=CHANNELS_SCHEMA, tag="accounts")  # fmt: skip
def get_channels():
    return jsonify(channels_json(current_api_user()))


@endpoint("/me/channels", "PUT", summary="Choose the channels of each alert kind", body=CHOICES_BODY,
          response=CHANNELS_SCHEMA, tag="accounts")  # fmt: skip
def put_channels():
    user = current_api_user()
    services.set_choices(user, {kind: set(channels) for kind, channels in body()["choices"].items()})
    return jsonify(channels_json(user))
