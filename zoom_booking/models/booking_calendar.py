"""booking.calendar: what a guest can book with a host, and when: its
settings, its public page, who may manage it, its meetings' Zoom options.

When the host is free lives in ``booking.slot.mixin`` (slot maths in
``tools/slots.py``); how a guest's booking is confirmed, in
``booking.guest.mixin``.
"""

import re

import pytz
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..tools.guest_input import FIELD_LIMITS, parse_day_range
from ..tools.slots import (
    format_utc,
)
from ..tools.text import slugify
from ..tools.urls import booking_path

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# "booking" is the prefix of the guests' booking pages (/book/booking/<token>).
RESERVED_SLUGS = {"booking"}
MAX_DAYS_AHEAD = 3650
MAX_NOTICE_HOURS = 8760
WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]


# ------------------------------------------------------------------ models
class BookingCalendar(models.Model):
    _name = "booking.calendar"
    _inherit = ["booking.slot.mixin", "booking.guest.mixin"]
    _description = "Booking calendar"
    _order = "sequence, name, id"

    @api.model
    def _default_availability(self):
        return [
            fields.Command.create({"weekday": str(day), "hour_from": 9, "hour_to": 17})
            for day in range(5)
        ]

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    is_published = fields.Boolean(
        "Published", default=True, help="Guests can book through the public link."
    )
    host_id = fields.Many2one(
        "res.users",
        required=True,
        default=lambda self: self.env.user,
        domain=[("share", "=", False)],
        index=True,
    )
    host_ids = fields.Many2many(
        "res.users",
        "booking_calendar_host_rel",
        "calendar_id",
        "user_id",
        "Hosts",
        compute="_compute_host_ids",
        store=True,
        precompute=True,
        readonly=False,
        domain=[("share", "=", False)],
        help="Who takes this calendar's bookings, with the owner (Host) first.",
    )
    assignment = fields.Selection(
        [
            ("single", "One host"),
            ("round_robin", "Round robin: each booking to one free host"),
            ("collective", "Collective: every host attends"),
        ],
        required=True,
        default="single",
        help="One host: the owner takes every booking. Round robin: a time is "
        "free when any host is; each booking goes to the free host with the "
        "fewest upcoming bookings of this calendar. Collective: a time is free "
        "only when every host is, and all attend; the meeting is the owner's.",
    )
    tz = fields.Selection(
        _tz_get,
        "Timezone",
        compute="_compute_tz",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        help="Timezone of the weekly availability; the host's by default.",
    )
    host_tz = fields.Selection(related="host_id.tz", string="Host's timezone")
    description = fields.Html(translate=True, sanitize=True)
    duration = fields.Integer("Duration (minutes)", required=True, default=30)
    slot_interval = fields.Integer(
        "Slot interval (minutes)",
        compute="_compute_slot_interval",
        store=True,
        precompute=True,
        readonly=False,
        help="Time between two proposed start times; the duration by default.",
    )
    availability_ids = fields.One2many(
        "booking.calendar.availability",
        "calendar_id",
        "Weekly availability",
        copy=True,
        default=_default_availability,
    )
    min_notice_hours = fields.Float(
        "Minimum notice (hours)",
        default=2.0,
        help="Guests can't book a slot starting sooner than this.",
    )
    max_days_ahead = fields.Integer(
        "Bookable days ahead", default=30, help="How far ahead guests may book."
    )
    buffer_before = fields.Integer(
        "Buffer before (minutes)", default=0, help="Free time kept before a booking."
    )
    buffer_after = fields.Integer(
        "Buffer after (minutes)", default=0, help="Free time kept after a booking."
    )
    online_meeting_provider = fields.Selection(
        [
            ("none", "No online meeting"),
            ("zoom", "Zoom"),
            ("discuss", "Odoo Discuss"),
            ("custom", "Custom URL"),
        ],
        "Online meeting",
        required=True,
        default="zoom",
    )
    custom_url = fields.Char("Meeting URL")
    zoom_fallback = fields.Selection(
        [("none", "No online meeting"), ("discuss", "Odoo Discuss")],
        "If Zoom is not connected",
        required=True,
        default="none",
        help="What a booking gets when the host's Zoom account is not connected.",
    )
    question_ids = fields.One2many(
        "booking.question",
        "calendar_id",
        "Questions",
        copy=True,
        help="Your own questions on the booking form, after name, email, "
        "phone and notes.",
    )
    questions_in_zoom_agenda = fields.Boolean(
        "Answers in the Zoom agenda",
        help="The guest's answers are also written in the Zoom meeting's agenda.",
    )
    zoom_waiting_room = fields.Boolean(
        "Waiting room",
        default=True,
        help="Guests wait until the host lets them in.",
    )
    zoom_join_before_host = fields.Boolean(
        "Join before host", help="Guests may enter the meeting before the host."
    )
    zoom_passcode_required = fields.Boolean(
        "Passcode required",
        default=True,
        help="Each meeting gets its own passcode, shown to the guest.",
    )
    zoom_auto_recording = fields.Selection(
        [
            ("none", "No recording"),
            ("local", "On the host's computer"),
            ("cloud", "In Zoom's cloud"),
        ],
        "Automatic recording",
        required=True,
        default="none",
    )
    booking_privacy = fields.Selection(
        [
            ("private", "Private: colleagues see the host busy, nothing more"),
            ("public", "Public: colleagues see the guest's details and Zoom link"),
        ],
        "Bookings' privacy",
        required=True,
        default="private",
        help="Odoo's event privacy of this calendar's bookings. Private hides the "
        "guest's name, email, phone and notes and the Zoom meeting from everyone "
        "but the booking's attendees, host and guest.",
    )
    slug = fields.Char(
        "Link name",
        compute="_compute_slug",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        copy=False,
        index=True,
    )
    public_url = fields.Char("Public link", compute="_compute_public_url")
    provider_label = fields.Char(compute="_compute_provider_label")
    booking_ids = fields.One2many("calendar.event", "booking_calendar_id", "Bookings")
    upcoming_booking_count = fields.Integer(
        "Upcoming bookings", compute="_compute_upcoming_booking_count"
    )
    zoom_warning = fields.Char(compute="_compute_zoom_warning")
    team_zoom_states = fields.Html(
        "Hosts' Zoom", compute="_compute_team_zoom_states", sanitize=True
    )
    host_is_me = fields.Boolean(compute="_compute_host_is_me")

    _sql_constraints = [
        ("slug_unique", "unique(slug)", "This link name is already used."),
        ("duration_positive", "CHECK(duration > 0)", "The duration must be positive."),
    ]

    # -------------------------------------------------------------- computes
    @api.depends("host_id")
    def _compute_host_ids(self):
        for calendar in self:
            calendar.host_ids |= calendar.host_id

    def _team_hosts(self):
        """The hosts taking this calendar's bookings, in the team's order: the
        owner first, then the others as listed (by name)."""
        self.ensure_one()
        calendar = self.sudo()
        if calendar.assignment == "single":
            return calendar.host_id
        return calendar.host_id | (calendar.host_ids - calendar.host_id)

    @api.depends("host_id")
    def _compute_tz(self):
        # A host without a timezone: the browser's (the web client sends it in
        # the context), rather than UTC.
        fallback = self.env.context.get("tz") or self.env.user.tz or "UTC"
        for calendar in self:
            if not calendar.tz or calendar.host_id.tz:
                calendar.tz = calendar.host_id.tz or fallback

    @api.depends("duration")
    def _compute_slot_interval(self):
        for calendar in self:
            calendar.slot_interval = calendar.duration

    @api.depends("name")
    def _compute_slug(self):
        for calendar in self:
            if calendar.slug:
                continue
            if not calendar.name:
                # A new calendar's form: the link follows the name once typed.
                calendar.slug = False
                continue
            base = slugify(calendar.name) or "booking-calendar"
            if base in RESERVED_SLUGS:
                base += "-1"
            slug, counter = base, 1
            while (
                self.sudo()
                .with_context(active_test=False)
                .search_count(
                    [("slug", "=", slug), ("id", "!=", calendar._origin.id or 0)],
                    limit=1,
                )
            ):
                counter += 1
                slug = f"{base}-{counter}"
            calendar.slug = slug

    @api.depends("slug")
    def _compute_public_url(self):
        for calendar in self:
            base_url = calendar.get_base_url()
            calendar.public_url = calendar.slug and base_url + calendar._public_path()

    @api.depends("online_meeting_provider")
    def _compute_provider_label(self):
        labels = {
            "none": _("No online meeting"),
            "zoom": _("Zoom meeting"),
            "discuss": _("Odoo Discuss video call"),
            "custom": _("Online meeting"),
        }
        for calendar in self:
            calendar.provider_label = labels.get(calendar._guest_provider())

    def _guest_provider(self):
        """The online meeting a booking made now gets: Zoom's fallback while
        the host's Zoom account is not connected (as the booking flow does),
        so the public page promises nothing it won't give."""
        self.ensure_one()
        provider = self.online_meeting_provider
        if provider != "zoom":
            return provider
        # Round robin gives a connected host the booking whenever one is free.
        organizers = (
            self._team_hosts() if self.assignment == "round_robin" else self.host_id
        )
        if all(
            host.sudo().zoom_connection_state == "not_connected" for host in organizers
        ):
            return self.zoom_fallback
        return provider

    def _compute_upcoming_booking_count(self):
        groups = (
            self.env["calendar.event"]
            .sudo()
            ._read_group(
                [
                    ("booking_calendar_id", "in", self.ids),
                    ("booking_state", "=", "confirmed"),
                    ("stop", ">=", fields.Datetime.now()),
                ],
                ["booking_calendar_id"],
                ["__count"],
            )
        )
        counts = {calendar.id: count for calendar, count in groups}
        for calendar in self:
            calendar.upcoming_booking_count = counts.get(calendar.id, 0)

    @api.depends("host_ids", "assignment")
    def _compute_team_zoom_states(self):
        labels = dict(
            self.env["res.users"]
            ._fields["zoom_connection_state"]
            ._description_selection(self.env)
        )
        for calendar in self:
            items = Markup("").join(
                Markup(
                    '<li class="o_booking_host_state o_booking_host_%s">'
                    '<i class="fa fa-circle me-1 %s" title="%s"/>%s: %s</li>'
                )
                % (
                    state,
                    "text-success" if state == "connected" else "text-warning",
                    labels[state],
                    host.name,
                    labels[state],
                )
                for host in calendar._team_hosts()
                for state in [host.sudo().zoom_connection_state]
            )
            calendar.team_zoom_states = (
                Markup('<ul class="list-unstyled mb-0">%s</ul>') % items
            )

    @api.depends("online_meeting_provider", "host_id", "host_ids", "assignment")
    def _compute_zoom_warning(self):
        for calendar in self:
            warning = False
            if calendar.online_meeting_provider == "zoom" and (
                calendar.assignment != "single"
            ):
                warning = calendar._team_zoom_warning()
            elif calendar.online_meeting_provider == "zoom":
                state = calendar.host_id.sudo().zoom_connection_state
                if state == "needs_reconnect":
                    warning = _(
                        "%(host)s's Zoom connection needs to be reconnected: new "
                        "bookings get no Zoom meeting until then.",
                        host=calendar.host_id.name,
                    )
                elif state != "connected":
                    warning = _(
                        "%(host)s has not connected a Zoom account: new bookings get "
                        "no Zoom meeting until then.",
                        host=calendar.host_id.name,
                    )
            calendar.zoom_warning = warning

    def _team_zoom_warning(self):
        """A team calendar's warning: which hosts' bookings get no Zoom meeting
        (round robin: every host's own; collective: the owner's holds all)."""
        self.ensure_one()
        organizers = (
            self._team_hosts() if self.assignment == "round_robin" else self.host_id
        )
        troubled = organizers.filtered(
            lambda h: h.sudo().zoom_connection_state != "connected"
        )
        if not troubled:
            return False
        return _(
            "Zoom is not connected for %(hosts)s: their bookings get no Zoom "
            "meeting until they connect (or reconnect) it.",
            hosts=", ".join(troubled.mapped("name")),
        )

    @api.depends_context("uid")
    def _compute_host_is_me(self):
        for calendar in self:
            calendar.host_is_me = self.env.user in calendar._team_hosts()

    def action_zoom_connect(self):
        """The dashboard's Connect button: a host connects their own Zoom."""
        self.ensure_one()
        if self.env.user in self._team_hosts():
            return self.env.user.action_zoom_connect()
        return self.host_id.action_zoom_connect()

    # -------------------------------------------------------------- constraints
    @api.constrains("slug")
    def _check_slug(self):
        for calendar in self:
            if (
                not SLUG_RE.match(calendar.slug or "")
                or calendar.slug in RESERVED_SLUGS
            ):
                raise ValidationError(
                    _(
                        "The link name may only contain lowercase letters, digits and "
                        "dashes (e.g. product-demo)."
                    )
                )

    @api.constrains(
        "duration",
        "slot_interval",
        "min_notice_hours",
        "max_days_ahead",
        "buffer_before",
        "buffer_after",
    )
    def _check_durations(self):
        for calendar in self:
            if not 0 < calendar.duration <= 24 * 60:
                raise ValidationError(
                    _("The duration must be between 1 and 1440 minutes.")
                )
            if calendar.slot_interval < 0:
                raise ValidationError(_("The slot interval can't be negative."))
            if not 0 < calendar.max_days_ahead <= MAX_DAYS_AHEAD:
                raise ValidationError(
                    _(
                        "Guests may book from 1 to %(days)s days ahead.",
                        days=MAX_DAYS_AHEAD,
                    )
                )
            if calendar.min_notice_hours > MAX_NOTICE_HOURS:
                raise ValidationError(
                    _(
                        "The minimum notice can be at most %(hours)s hours.",
                        hours=MAX_NOTICE_HOURS,
                    )
                )
            if (
                max(
                    calendar.slot_interval,
                    calendar.buffer_before,
                    calendar.buffer_after,
                )
                > 24 * 60
            ):
                raise ValidationError(
                    _("The slot interval and buffers can be at most 1440 minutes.")
                )
            if (
                min(
                    calendar.min_notice_hours,
                    calendar.buffer_before,
                    calendar.buffer_after,
                )
                < 0
            ):
                raise ValidationError(_("Notice and buffers can't be negative."))

    @api.constrains("online_meeting_provider", "custom_url")
    def _check_custom_url(self):
        for calendar in self:
            if calendar.online_meeting_provider == "custom" and not re.match(
                r"^https?://\S+$", calendar.custom_url or ""
            ):
                raise ValidationError(
                    _(
                        "A custom online meeting needs a meeting URL starting with "
                        "https:// or http://."
                    )
                )

    def _public_path(self, action=None):
        """Path of this calendar's public page (or of its ``action``)."""
        self.ensure_one()
        return booking_path(slug=self.slug, action=action)

    # -------------------------------------------------------------- actions
    def action_open_bookings(self):
        """The bookings made through this calendar."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "zoom_booking.action_booking_events"
        )
        action["domain"] = [("booking_calendar_id", "=", self.id)]
        # Bookings are made by guests, never by hand in this list.
        action["context"] = {"create": False}
        return action

    def action_open_public_page(self):
        """Open the public booking page, as guests see it."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": self._public_path(),
            "target": "new",
        }

    # -------------------------------------------------------------- public API
    @api.model
    def _get_public_calendar(self, slug):
        """The published booking calendar with this slug (sudo), or an empty one."""
        if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > 80:
            return self.sudo().browse()
        return self.sudo().search(
            [("slug", "=", slug), ("is_published", "=", True)], limit=1
        )

    def _public_free_slots(self, start, end, tz_name, exclude_event=None):
        """Free slots for a guest: ``{"slots": [ISO-8601 UTC starts], "tz", ...}``.

        :param exclude_event: a booking being rescheduled (its time counts as free)
        :raise BookingError: on malformed dates or timezone
        """
        self.ensure_one()
        first_day, last_day, tz_name = parse_day_range(self.env, start, end, tz_name)
        slots = self.sudo()._get_free_slots(
            first_day, last_day, tz_name, exclude_event=exclude_event
        )
        return {
            "slots": [format_utc(slot) for slot in slots],
            "tz": tz_name,
            "duration": self.duration,
        }

    @api.model
    def _public_page_values(self, error=None, form=None, booking=None):
        """Values of the public booking page (``booking``: when rescheduling)."""
        self.ensure_one()
        calendar = self.sudo()
        form = dict(form or {})
        current_when = None
        if booking:
            slots_url = booking._booking_path("slots")
            action_url = booking._booking_path("reschedule")
            form.setdefault("tz", booking.booking_guest_tz)
            tz = booking.booking_guest_tz or calendar.tz or "UTC"
            when, until = booking._booking_when_parts(tz, self.env.lang)
            current_when = f"{when} – {until} ({tz})"
        else:
            slots_url = calendar._public_path("slots")
            action_url = calendar._public_path()
        return {
            "calendar": calendar,
            # A team's page names its hosts: the guest books with one, or all.
            "host_name": ", ".join(calendar._team_hosts().mapped("name")),
            "booking_company": calendar.host_id.company_id,
            "booking": booking,
            "current_when": current_when,
            "error": error,
            "form": form,
            "slots_url": slots_url,
            "action_url": action_url,
            "timezones": pytz.common_timezones,
            "field_limits": FIELD_LIMITS,
            "questions": calendar.question_ids,
        }

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_host_change(vals.get("host_id", self.env.uid))
        calendars = super().create(vals_list)
        calendars._check_team_change({})
        return calendars

    def write(self, vals):
        if "host_id" in vals:
            for calendar in self:
                if calendar.host_id.id != vals["host_id"]:
                    self._check_host_change(vals["host_id"])
        before = {c.id: c.host_ids for c in self} if "host_ids" in vals else None
        result = super().write(vals)
        if before is not None or "host_id" in vals:
            self._check_team_change(before or {})
        return result

    def _check_team_change(self, before):
        """The owner is always one of the hosts; only a booking manager adds
        someone else to a team (their bookings would make meetings in that
        person's Zoom account). ``before``: ``{calendar id: hosts}``."""
        for calendar in self:
            if calendar.host_id not in calendar.host_ids:
                calendar.host_ids |= calendar.host_id
            added = calendar.host_ids - before.get(calendar.id, calendar.host_id)
            for host in added - self.env.user:
                self._check_host_change(host.id)

    @api.model
    def _check_host_change(self, host_id):
        """Only a booking manager gives a calendar to someone else: its
        bookings would then create meetings in that person's Zoom account."""
        if (
            self.env.su
            or host_id == self.env.uid
            or self.env.user.has_group("zoom_booking.group_booking_manager")
        ):
            return
        raise AccessError(
            _("Only a booking manager can make someone else the host of a calendar.")
        )

    def _check_host_access(self):
        """Only the host or a booking manager manages a calendar's bookings."""
        user = self.env.user
        if self.env.su or user.has_group("zoom_booking.group_booking_manager"):
            return
        for calendar in self:
            if calendar.host_id != user:
                raise AccessError(_("Only the host can manage this booking calendar."))

    def _clean_answers(self, values):
        """The guest's answers to this calendar's questions, from the form's
        ``question_<id>`` fields, checked: ``[(question, answer)]``, or
        BookingError with the guest's message."""
        self.ensure_one()
        return [
            (question, question._clean_answer(values.get(question._field_name())))
            for question in self.sudo().question_ids
        ]

    def _zoom_meeting_settings(self):
        """The ``settings`` of the Zoom meetings of this calendar's bookings."""
        self.ensure_one()
        return {
            "waiting_room": self.zoom_waiting_room,
            "join_before_host": self.zoom_join_before_host,
            "jbh_time": 0,
            "auto_recording": self.zoom_auto_recording,
            "approval_type": 2,
        }
