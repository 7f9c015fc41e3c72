"""Telegram and SMS beside email: linked chats, verified phones, and per-alert-kind channel choices."""
