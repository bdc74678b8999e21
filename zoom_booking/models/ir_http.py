"""ir.http: the language of the public booking pages."""

from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_translation_frontend_modules_name(cls):
        """The booking pages' script texts are translated in the browser."""
        return [*super()._get_translation_frontend_modules_name(), "zoom_booking"]

    @classmethod
    def _frontend_pre_dispatch(cls):
        """On the booking pages, a guest's browser decides among the pages'
        languages (the installed ones, or the website's): Odoo itself only tries
        the browser's first choice. The ``frontend_lang`` cookie, set by the
        pages' switcher, still comes first. Done here rather than in
        ``_get_default_lang``, which the Website app replaces."""
        if request.httprequest.path.startswith("/book/") and not request.cookies.get(
            "frontend_lang"
        ):
            codes = list(request.env["res.lang"]._get_frontend())
            tags = {code.replace("_", "-"): code for code in codes}
            best = request.httprequest.accept_languages.best_match(list(tags))
            if best:
                request.lang = request.env["res.lang"]._get_data(code=tags[best])
        super()._frontend_pre_dispatch()
