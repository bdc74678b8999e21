from odoo import fields, models


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
    mail_count = fields.Integer("Unsent mails removed", readonly=True)
    attachment_count = fields.Integer("Invitations removed", readonly=True)
