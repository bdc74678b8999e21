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
    def _get_default_lang(cls):
        """On the booking pages, a guest's browser decides among the installed
        languages: Odoo itself only tries the browser's first choice (URL and
        ``frontend_lang`` cookie, set by the pages' switcher, still come
        first). Elsewhere Odoo's own default holds."""
        if request and request.httprequest.path.startswith("/book/"):
            installed = [
                code for code, _name in request.env["res.lang"].get_installed()
            ]
            tags = {code.replace("_", "-"): code for code in installed}
            best = request.httprequest.accept_languages.best_match(list(tags))
            if best:
                return request.env["res.lang"]._get_data(code=tags[best])
        return super()._get_default_lang()
