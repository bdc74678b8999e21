"""booking.question: a question of a booking calendar's form, the host's own."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..exceptions import BookingError
from ..tools.guest_input import clean_text

ANSWER_LIMITS = {"text": 500, "multiline": 2000, "select": 500, "checkbox": 10}


class BookingQuestion(models.Model):
    _name = "booking.question"
    _description = "Booking calendar question"
    _order = "sequence, id"

    calendar_id = fields.Many2one(
        "booking.calendar", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    name = fields.Char("Question", required=True, translate=True)
    question_type = fields.Selection(
        [
            ("text", "One line of text"),
            ("multiline", "Several lines of text"),
            ("select", "One of several options"),
            ("checkbox", "Checkbox"),
        ],
        "Answer",
        required=True,
        default="text",
    )
    required = fields.Boolean(
        help="The guest must answer (a checkbox must be ticked) to book."
    )
    options = fields.Text(
        translate=True,
        help="The options of a question with several options, one per line.",
    )

    @api.constrains("question_type", "options")
    def _check_options(self):
        for question in self:
            if question.question_type == "select" and not question._option_list():
                raise ValidationError(
                    _("The question “%s” needs at least one option.", question.name)
                )

    def _option_list(self):
        """The options of a select question, in order."""
        self.ensure_one()
        lines = (self.options or "").splitlines()
        return [line.strip() for line in lines if line.strip()]

    def _field_name(self):
        """The name of the form's field for this question's answer."""
        self.ensure_one()
        return f"question_{self.id}"

    def _clean_answer(self, value):
        """The guest's answer to this question, checked: its text (``Yes`` /
        ``No`` for a checkbox), or BookingError with the guest's message."""
        self.ensure_one()
        question_type = self.question_type
        if question_type == "checkbox":
            ticked = isinstance(value, str) and value in ("on", "1", "true", "yes")
            if self.required and not ticked:
                raise BookingError(_("Please tick “%s”.", self.name))
            return _("Yes") if ticked else _("No")
        value = clean_text(
            self.env,
            value,
            self.name,
            ANSWER_LIMITS[question_type],
            one_line=question_type != "multiline",
        )
        if question_type == "select" and value and value not in self._option_list():
            raise BookingError(
                _("Please choose one of the options of “%s”.", self.name)
            )
        if self.required and not value:
            raise BookingError(_("Please answer “%s”.", self.name))
        return value
