"""A host creates a booking calendar in the web client's form (Odoo's Form,
which runs the same onchanges): its link follows the name, its timezone is
the host's or, without one, the browser's, with a hint."""

from odoo.tests import Form, TransactionCase, tagged

from .common import make_user


@tagged("post_install", "-at_install")
class TestNewBookingCalendarForm(TransactionCase):
    def test_the_link_follows_the_name(self):
        host = make_user(self.env, "zb_form_host", "Fumi Form", tz="Europe/Paris")
        form = Form(self.env["booking.calendar"].with_user(host))
        self.assertFalse(form.slug)
        form.name = "Intro Call with Fumi"
        self.assertEqual(form.slug, "intro-call-with-fumi")
        calendar = form.save()
        self.assertEqual(calendar.slug, "intro-call-with-fumi")
        self.assertEqual(calendar.tz, "Europe/Paris")
        # A second calendar of the same name gets its own link.
        other = Form(self.env["booking.calendar"].with_user(host))
        other.name = "Intro Call with Fumi"
        self.assertEqual(other.save().slug, "intro-call-with-fumi-2")

    def test_a_host_without_timezone_gets_the_browsers_and_a_hint(self):
        host = make_user(self.env, "zb_form_no_tz", "Nora Notz", tz=False)
        # The browser's timezone, as the web client puts it in the context.
        calendars = self.env["booking.calendar"].with_user(host)
        form = Form(calendars.with_context(tz="Asia/Tokyo"))
        form.name = "Office hours"
        self.assertEqual(form.tz, "Asia/Tokyo")
        self.assertFalse(form.host_tz)  # the hint shows
        arch = self.env["booking.calendar"].get_views([(False, "form")])["views"]
        self.assertIn("o_booking_tz_hint", arch["form"]["arch"])
        calendar = form.save()
        self.assertEqual(calendar.tz, "Asia/Tokyo")
