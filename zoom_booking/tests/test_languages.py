"""A Japanese guest meets Japanese everywhere: the booking page (its script's
texts included), the mail and its invitation, while the host reads theirs in
their own language. The page's language comes from the browser's
Accept-Language among the installed languages, or from the pages' switcher."""

from urllib.parse import urlencode

from odoo.fields import Command
from odoo.tests import tagged

from .test_booking_flow import CSRF_RE, BookingHttpCase

JA_CONFIRM = "予約を確定する"  # "Confirm booking"
JA_SUBJECT = "予約確定"  # "Booking confirmed"
JA_JOIN = "Zoomミーティングに参加"  # "Join Zoom meeting"


def install_japanese(env, host):
    """Japanese installed with zoom_booking's texts; ``host`` reads English."""
    env["res.lang"]._activate_lang("ja_JP")
    env["ir.module.module"]._load_module_terms(["zoom_booking"], ["ja_JP"])
    host.lang = "en_US"


@tagged("post_install", "-at_install")
class TestGuestLanguage(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_japanese(cls.env, cls.host)

    def guest_mail(self, booking, email_address):
        mails = self.mails_of(booking).filtered(
            lambda m: email_address in (m.email_to or m.recipient_ids.email or "")
        )
        self.assertEqual(len(mails), 1, mails.mapped("subject"))
        return mails

    def ics_text(self, mail):
        (invitation,) = mail.attachment_ids
        # Folded lines joined, as a calendar reads them.
        return invitation.raw.decode().replace("\r\n ", "")

    def test_the_browser_chooses_among_installed_languages(self):
        self.connect_host_zoom()
        path = f"/book/{self.calendar.slug}"
        # English first: English.
        self.opener.cookies.clear()  # a guest's first visit
        page = self.url_open(path, headers={"Accept-Language": "en,ja;q=0.5"})
        self.assertNotIn(JA_CONFIRM, page.text)
        # French first (not installed), then Japanese: Japanese it is.
        self.opener.cookies.clear()
        headers = {"Accept-Language": "fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.5"}
        page = self.url_open(path, headers=headers)
        self.assertEqual(page.status_code, 200)
        self.assertIn('lang="ja-JP"', page.text)
        self.assertIn(JA_CONFIRM, page.text)
        response = self.book(
            self.next_slot(),
            email="hanako@example.jp",
            headers=headers,
            csrf=CSRF_RE.search(page.text).group(1),
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        booking = self.bookings()
        guest = booking.booking_guest_partner_id
        self.assertEqual(guest.lang, "ja_JP")
        self.env.cr.postcommit.run()
        guest_mail = self.guest_mail(booking, "hanako@example.jp")
        self.assertTrue(guest_mail.subject.startswith(JA_SUBJECT), guest_mail.subject)
        self.assertIn(JA_JOIN, self.ics_text(guest_mail))
        host_mail = self.guest_mail(booking, self.host.email)
        self.assertTrue(host_mail.subject.startswith("Booking confirmed"))
        self.assertIn("Join Zoom meeting", self.ics_text(host_mail))
        self.assertNotIn(JA_JOIN, self.ics_text(host_mail))
        # The guest's page of the booking speaks Japanese too.
        page = self.url_open(response.headers["Location"], headers=headers)
        self.assertIn('lang="ja-JP"', page.text)
        self.assertIn("ご予約が確定しました", page.text)
        self.assertIn("詳細を次のアドレスにお送りしました", page.text)  # where it went
        self.assertIn("カレンダーに追加", page.text)  # "Add to your calendar"
        self.assertIn("予約を残す", page.text)  # "Keep my booking", when cancelling

    def test_the_switcher_remembers_the_choice(self):
        slug_path = f"/book/{self.calendar.slug}"
        page = self.url_open(slug_path, headers={"Accept-Language": "en"})
        self.assertIn("o_booking_languages", page.text)
        self.assertIn(f"/book/lang/ja_JP?{urlencode({'next': slug_path})}", page.text)
        response = self.url_open(
            f"/book/lang/ja_JP?{urlencode({'next': slug_path})}",
            allow_redirects=False,
            headers={"Accept-Language": "en"},
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertTrue(response.headers["Location"].endswith(slug_path))
        self.assertEqual(self.opener.cookies.get("frontend_lang"), "ja_JP")
        page = self.url_open(slug_path, headers={"Accept-Language": "en"})
        self.assertIn(JA_CONFIRM, page.text)
        # The switcher sends nobody elsewhere, and ignores unknown languages.
        for target in ("https://evil.example/x", "//evil.example/x", "/web"):
            response = self.url_open(
                f"/book/lang/en_US?{urlencode({'next': target})}",
                allow_redirects=False,
            )
            self.assertNotIn("evil", response.headers["Location"])
            self.assertFalse(response.headers["Location"].endswith("/web"))
        self.url_open("/book/lang/xx_XX", allow_redirects=False)
        self.assertEqual(self.opener.cookies.get("frontend_lang"), "en_US")

    def test_tour_a_japanese_guest_books(self):
        self.start_tour(
            f"/book/lang/ja_JP?{urlencode({'next': f'/book/{self.calendar.slug}'})}",
            "zoom_booking_book_in_japanese",
            login=None,
        )
        booking = self.bookings()
        self.assertEqual(booking.booking_guest_partner_id.lang, "ja_JP")
        self.assertEqual(booking.booking_guest_name, "山田 花子")
        mail = self.guest_mail(booking, "hanako@example.jp")
        self.assertTrue(mail.subject.startswith(JA_SUBJECT), mail.subject)

    def test_a_japanese_host_reads_why_a_japanese_guest_cancelled(self):
        self.host.lang = "ja_JP"
        headers = {"Accept-Language": "ja"}
        page = self.url_open(f"/book/{self.calendar.slug}", headers=headers)
        self.book(
            self.next_slot(),
            email="hanako@example.jp",
            headers=headers,
            csrf=CSRF_RE.search(page.text).group(1),
        )
        booking = self.bookings()
        page = self.url_open(booking._booking_path(), headers=headers).text
        self.assertIn("ホストへのメッセージ（任意）", page)  # "A message for the host"
        response = self.url_open(
            booking._booking_path("cancel"),
            data={"csrf_token": CSRF_RE.search(page).group(1), "reason": "急用です"},
            headers=headers,
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.env.cr.postcommit.run()
        mails = self.mails_of(booking, "予約キャンセル")
        to_host = mails.filtered(lambda m: m.recipient_ids == self.host.partner_id)
        self.assertIn("理由", to_host.body_html)  # "Reason"
        self.assertIn("急用です", to_host.body_html)
        self.assertNotIn("急用です", (mails - to_host).body_html)

    def test_a_japanese_guest_is_told_in_japanese_what_the_questions_need(self):
        self.calendar.question_ids = [
            Command.create(
                {"name": "Company", "question_type": "text", "required": True}
            ),
            Command.create(
                {"name": "Size", "question_type": "select", "options": "1-10\n11+"}
            ),
        ]
        company, size = self.calendar.question_ids
        headers = {"Accept-Language": "ja"}
        page = self.url_open(f"/book/{self.calendar.slug}", headers=headers).text
        self.assertIn("選択してください…", page)  # "Choose…"
        response = self.book(
            self.next_slot(),
            headers=headers,
            csrf=CSRF_RE.search(page).group(1),
            **{size._field_name(): "11+"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("「Company」に回答してください。", response.text)
        response = self.book(
            self.next_slot(),
            headers=headers,
            csrf=CSRF_RE.search(page).group(1),
            **{company._field_name(): "山田商事", size._field_name(): "12"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("「Size」の選択肢から1つ選んでください。", response.text)
