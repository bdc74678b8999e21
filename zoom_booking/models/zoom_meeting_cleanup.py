import logging
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, models
from odoo.modules.registry import Registry

from ..tools.zoom_client import ZoomError, ZoomNotFound

_logger = logging.getLogger(__name__)


class ZoomMeetingCleanup(models.Model):
    """A Zoom meeting whose event was deleted in Odoo and that must still be
    deleted at Zoom: kept until Zoom confirms, so a Zoom outage loses nothing."""

    _name = "zoom.meeting.cleanup"
    _description = "Zoom meeting to delete"
    _order = "next_attempt, id"

    host_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    meeting_id = fields.Char(required=True)
    attempts = fields.Integer()
    next_attempt = fields.Datetime(default=fields.Datetime.now, index=True)
    last_error = fields.Char()

    @api.model
    def _plan(self, meetings):
        """Delete these ``(host user id, meeting id)`` at Zoom after commit."""
        cleanups = self.sudo().create(
            [{"host_id": host, "meeting_id": meeting} for host, meeting in meetings]
        )
        ids, dbname = cleanups.ids, self.env.cr.dbname

        @self.env.cr.postcommit.add
        def delete():
            with Registry(dbname).cursor() as cr:
                api.Environment(cr, SUPERUSER_ID, {})[self._name].browse(
                    ids
                ).exists()._run()

        return cleanups

    @api.model
    def _cron_run(self):
        self.sudo().search(
            [("next_attempt", "<=", fields.Datetime.now())], limit=200
        )._run()

    def _run(self):
        for cleanup in self:
            connection = cleanup.host_id._zoom_connection()
            if not connection:
                # Disconnected: Odoo may no longer act on that Zoom account.
                cleanup.unlink()
                continue
            try:
                connection._call("delete_meeting", cleanup.meeting_id)
            except ZoomNotFound:
                pass  # already gone
            except ZoomError as exc:
                cleanup.write(
                    {
                        "attempts": cleanup.attempts + 1,
                        "last_error": exc.message[:250],
                        "next_attempt": fields.Datetime.now()
                        + timedelta(minutes=min(60, 2**cleanup.attempts)),
                    }
                )
                continue
            cleanup.unlink()
