"""Atom feed of calls and iCalendar deadlines, built with feedgen and icalendar."""

from __future__ import annotations

from datetime import timedelta

from feedgen.feed import FeedGenerator
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event

from ..core.urls import external_url
from ..i18n import current_locale, format_datetime, quoted
from .models import Call


def atom(calls: list[Call]) -> bytes:
    locale = current_locale()
    feed = FeedGenerator()
    feed.id(external_url("calls.index"))
    feed.title(_("Grants: calls for proposals"))
    feed.link(href=external_url("calls.index"), rel="alternate")
    feed.link(href=external_url("calls.feed"), rel="self")
    feed.language(locale)
    feed.updated(max((c.updated_at for c in calls), default=None) or None)
    for call in sorted(calls, key=lambda c: c.published_at or c.created_at):
        entry = feed.add_entry()
        entry.id(external_url("calls.show", call_id=call.id))
        entry.title(f"{call.code}: {call.text('title', locale)}")
        entry.link(href=external_url("calls.show", call_id=call.id))
        entry.published(call.published_at or call.created_at)
        entry.updated(call.updated_at)
        entry.summary(
            _("Deadline: %(when)s", when=format_datetime(call.closes_at))
            + "\n\n"
            + call.text("description", locale)[:1000]
        )
    return feed.atom_str(pretty=False)


def ics(calls: list[Call]) -> bytes:
    locale = current_locale()
    calendar = Calendar()
    calendar.add("prodid", "-//Grants//calls//" + locale.upper())
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Grants: application deadlines"))
    for call in calls:
        event = Event()
        event.add("uid", f"call-{call.id}-deadline@grants")
        event.add("summary", _("Deadline: %(code)s %(title)s", code=call.code, title=quoted(call.text("title", locale))))
        event.add("dtstart", call.closes_at)
        event.add("dtend", call.closes_at + timedelta(minutes=30))
        event.add("dtstamp", call.updated_at)
        event.add("url", external_url("calls.show", call_id=call.id))
        event.add("description", _("Applications are accepted until %(when)s.", when=format_datetime(call.closes_at)))
        for days in (7, 1):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add(
                "description", _("Deadline: %(code)s %(title)s", code=call.code, title=quoted(call.text("title", locale)))
            )
            alarm.add("trigger", timedelta(days=-days))
            event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()
