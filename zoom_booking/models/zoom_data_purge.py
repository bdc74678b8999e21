"""zoom.data.purge: the removal of a user's Zoom data, as Zoom's policy
requires, and its audit line."""

import re

from markupsafe import Markup
from psycopg2.extras import execute_values

from odoo import api, fields, models

from ..tools.text import format_meeting_id, remove_zoom_details, scrub

MEETING_PATH_RE = re.compile(r"/meetings/(\d{6,})")
JOIN_URL_RE = re.compile(r"(https?://[^\s\"'<>]+/j/(\d{6,})[^\s\"'<>]*)")


class ZoomDataPurge(models.Model):
    """One line per removal of a user's Zoom data: who, when, how much.

    It never holds the removed URLs, meeting IDs or passcodes themselves.
    """

    _name = "zoom.data.purge"
    _description = "Removal of a user's Zoom data"
    _order = "id desc"

    user_id = fields.Many2one(
        "res.users", "Zoom data of", required=True, readonly=True, ondelete="cascade"
    )
    done_by_id = fields.Many2one("res.users", "Done by", readonly=True)
    reason = fields.Selection(
        [
            ("disconnect", "Disconnected in Odoo"),
            ("deauthorized", "App removed in Zoom"),
        ],
        required=True,
        readonly=True,
    )
    event_count = fields.Integer("Events cleared", readonly=True)
    call_log_count = fields.Integer("Zoom calls forgotten", readonly=True)
    message_count = fields.Integer("Messages cleaned", readonly=True)
    mail_count = fields.Integer(
        "Unsent mails cleaned",
        readonly=True,
        help="Mails not yet sent: kept, and sent without their Zoom details.",
    )
    attachment_count = fields.Integer("Invitations removed", readonly=True)

    @api.model
    def _purge_user(self, user, reason):
        """Remove from Odoo every Zoom join URL, meeting ID and passcode of the
        user's events, past and future: the event fields and their copies in
        location, description, chatter, tracking, unsent mails (kept, and sent
        without them), invitations and Zoom call logs. Records one audit line,
        without the removed values."""
        # Zoom work still to do for that account, meetings of deleted events
        # included: Odoo may no longer act on it, and must forget their IDs.
        self.env["zoom.meeting.job"].sudo().search([("host_id", "=", user.id)]).unlink()
        Event = self.env["calendar.event"].sudo().with_context(active_test=False)
        events = Event.search([("zoom_host_id", "=", user.id)])
        if not events:
            return self.browse()
        counts = self._purge_events(events)
        return self.sudo().create(
            dict(counts, user_id=user.id, done_by_id=self.env.user.id, reason=reason)
        )

    @api.model
    def _purge_events(self, events):
        """Remove these events' Zoom join URLs, meeting IDs and passcodes from
        everywhere Odoo keeps them; returns what was cleaned, as counts.

        Done in a few set-based statements: Zoom expects its deauthorization
        notice answered within 3 seconds, for hosts with thousands of events too.
        """
        events = events.sudo().with_context(active_test=False)
        events.flush_recordset()
        event_of_message = self._messages_of(events)
        message_ids = list(event_of_message)
        cr = self.env.cr
        cr.execute(
            """SELECT id, mail_message_id, old_value_char, new_value_char
                 FROM mail_tracking_value WHERE mail_message_id = ANY(%s)""",
            [message_ids],
        )
        trackings = cr.fetchall()
        cr.execute(
            "SELECT event_id, path FROM zoom_call_log WHERE event_id = ANY(%s)",
            [events.ids],
        )
        logs = cr.fetchall()
        secrets_of = self._secrets_of(events, logs, trackings, event_of_message)
        self._purge_event_fields(events, secrets_of)
        # The chatter: messages, their tracking, unsent mails, invitations.
        secrets_of_message = {
            message_id: secrets_of.get(event_id, ())
            for message_id, event_id in event_of_message.items()
        }
        self._purge_trackings(trackings, secrets_of_message)
        cleaned = self._purge_messages(secrets_of_message)
        mails, attachments = self._unsent_mails_and_invitations(events, message_ids)
        counts = {
            "event_count": len(events),
            "call_log_count": len(logs),
            "message_count": cleaned,
            "mail_count": len(mails),
            "attachment_count": len(attachments),
        }
        meeting_ids = {
            value for found in secrets_of.values() for value in found if value.isdigit()
        }
        self.env["zoom.webhook.event"].sudo().search(
            [("meeting_id", "in", list(meeting_ids))]
        ).write({"meeting_id": False})
        self._purge_unsent_mails(mails, attachments, event_of_message, secrets_of)
        attachments.unlink()
        cr.execute("DELETE FROM zoom_call_log WHERE event_id = ANY(%s)", [events.ids])
        self.env["zoom.call.log"].invalidate_model()
        return counts

    @api.model
    def _messages_of(self, events):
        """``{message id: event id}`` of the events' and their attendees'
        messages."""
        cr = self.env.cr
        cr.execute(
            """SELECT a.id, a.event_id FROM calendar_attendee a
                WHERE a.event_id = ANY(%s)""",
            [events.ids],
        )
        event_of_attendee = dict(cr.fetchall())
        cr.execute(
            """SELECT id, model, res_id FROM mail_message
                WHERE (model = 'calendar.event' AND res_id = ANY(%s))
                   OR (model = 'calendar.attendee' AND res_id = ANY(%s))""",
            [events.ids, list(event_of_attendee)],
        )
        return {
            message_id: res_id
            if model == "calendar.event"
            else event_of_attendee[res_id]
            for message_id, model, res_id in cr.fetchall()
        }

    @api.model
    def _purge_event_fields(self, events, secrets_of):
        """The events' Zoom fields, and their copies in location and description."""
        self.env.cr.execute(
            """UPDATE calendar_event
                  SET videocall_location = CASE WHEN videocall_location = zoom_join_url
                                                THEN NULL ELSE videocall_location END,
                      location = CASE WHEN location = zoom_join_url
                                      THEN NULL ELSE location END,
                      zoom_status = CASE WHEN zoom_status IS NOT NULL
                                           OR zoom_meeting_id IS NOT NULL
                                         THEN 'cleared' END,
                      zoom_meeting_id = NULL, zoom_join_url = NULL,
                      zoom_passcode = NULL, zoom_last_error = NULL
                WHERE id = ANY(%s)""",
            [events.ids],
        )
        events.invalidate_recordset(flush=False)
        for event in events:
            found = secrets_of.get(event.id, ())
            changed = {
                field: scrub(event[field], found)
                for field in ("location", "videocall_location", "description")
                if event[field] and scrub(event[field], found) != event[field]
            }
            if changed:
                if "description" in changed:
                    changed["description"] = Markup(changed["description"])
                for field in ("location", "videocall_location"):
                    if field in changed:
                        changed[field] = False
                # No tracking: it would keep the removed link as the old value.
                event.with_context(tracking_disable=True, zoom_booking_sync=True).write(
                    changed
                )

    @api.model
    def _purge_trackings(self, trackings, secrets_of_message):
        updates = []
        for tracking_id, message_id, old, new in trackings:
            found = secrets_of_message[message_id]
            if any(value and scrub(value, found) != value for value in (old, new)):
                updates.append(
                    (
                        tracking_id,
                        scrub(old or "", found) or None,
                        scrub(new or "", found) or None,
                    )
                )
        if updates:
            execute_values(
                self.env.cr._obj,
                """UPDATE mail_tracking_value t
                      SET old_value_char = v.old, new_value_char = v.new
                     FROM (VALUES %s) AS v(id, old, new) WHERE t.id = v.id""",
                updates,
            )
        self.env["mail.tracking.value"].invalidate_model(
            ["old_value_char", "new_value_char"]
        )

    @api.model
    def _purge_messages(self, secrets_of_message):
        """Scrub the messages' bodies and subjects; how many changed."""
        cr = self.env.cr
        cr.execute(
            "SELECT id, body, subject FROM mail_message WHERE id = ANY(%s)",
            [list(secrets_of_message)],
        )
        cleaned = []
        for message_id, body, subject in cr.fetchall():
            found = secrets_of_message[message_id]
            # The Zoom block goes whole: a cancelled booking's old mails hold a
            # passcode that no field remembers.
            new_body, new_subject = (
                scrub(remove_zoom_details(body or ""), found),
                scrub(subject or "", found),
            )
            if (new_body, new_subject) != (body or "", subject or ""):
                cleaned.append((message_id, new_body, new_subject))
        if cleaned:
            execute_values(
                cr._obj,
                """UPDATE mail_message m SET body = v.body, subject = v.subject
                     FROM (VALUES %s) AS v(id, body, subject) WHERE m.id = v.id""",
                cleaned,
            )
        self.env["mail.message"].invalidate_model(["body", "subject"])
        return len(cleaned)

    @api.model
    def _purge_unsent_mails(self, mails, invitations, event_of_message, secrets_of):
        """Keep the mails not sent yet (a guest must still hear of their booking),
        without the Zoom details: their HTML scrubbed and their invitation
        replaced by the event's new one. Called once the events are cleared."""
        new_invitation, bodies = {}, []
        for mail in mails:
            event_id = event_of_message[mail.mail_message_id.id]
            found = secrets_of.get(event_id, ())
            bodies.append(
                (mail.id, scrub(remove_zoom_details(mail.body_html or ""), found))
            )
            old = mail.attachment_ids & invitations
            if not old:
                continue
            method = "CANCEL" if b"METHOD:CANCEL" in (old[0].raw or b"") else "REQUEST"
            if (event_id, method) not in new_invitation:
                event = self.env["calendar.event"].browse(event_id)
                raw = event.with_context(booking_ics_method=method)._get_ics_file()
                new_invitation[event_id, method] = self.env["ir.attachment"].create(
                    {
                        "name": old[0].name,
                        "mimetype": "text/calendar",
                        "raw": raw[event_id],
                        "res_model": "mail.message",
                        "res_id": mail.mail_message_id.id,
                    }
                )
            mail.attachment_ids = [fields.Command.unlink(a.id) for a in old] + [
                fields.Command.link(new_invitation[event_id, method].id)
            ]
        if bodies:
            execute_values(
                self.env.cr._obj,
                """UPDATE mail_mail m SET body_html = v.body
                     FROM (VALUES %s) AS v(id, body) WHERE m.id = v.id""",
                bodies,
            )
        self.env["mail.mail"].invalidate_model(["body_html"])

    @api.model
    def _unsent_mails_and_invitations(self, events, message_ids):
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "in", message_ids),
                    ("state", "in", ("outgoing", "exception", "cancel")),
                ]
            )
        )
        self.env.cr.execute(
            """SELECT id FROM ir_attachment
                WHERE mimetype = 'text/calendar'
                  AND ((res_model = 'calendar.event' AND res_id = ANY(%s))
                       OR id IN (SELECT attachment_id FROM message_attachment_rel
                                  WHERE message_id = ANY(%s)))""",
            [events.ids, message_ids],
        )
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .browse([row[0] for row in self.env.cr.fetchall()])
        )
        return mails, attachments

    @api.model
    def _secrets_of(self, events, logs, trackings, event_of_message):
        """Every join URL, meeting ID and passcode each event ever had, by event."""
        found = {event.id: set() for event in events}
        for event in events:
            found[event.id].update(
                filter(
                    None,
                    [
                        event.zoom_join_url,
                        event.zoom_meeting_id,
                        event.zoom_passcode,
                    ],
                )
            )
        for event_id, path in logs:
            found[event_id].update(MEETING_PATH_RE.findall(path or ""))
        # Links of earlier meetings live on in the tracking of `location`.
        for _tracking_id, message_id, old, new in trackings:
            for value in (old, new):
                for url, meeting_id in JOIN_URL_RE.findall(value or ""):
                    found[event_of_message[message_id]].update((url, meeting_id))
        for values in found.values():
            values.update(
                format_meeting_id(value) for value in list(values) if value.isdigit()
            )
            values.difference_update({value for value in values if len(value) < 4})
        return found
