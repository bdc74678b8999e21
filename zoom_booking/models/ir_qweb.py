"""ir.qweb: booking mails' bodies are compiled once, not on every mail."""

from lxml import etree

from odoo import models

# Set in the context by calendar.event._booking_post_mail.
CACHE_BODIES = "zoom_booking_cache_compiled"


class IrQweb(models.AbstractModel):
    _inherit = "ir.qweb"

    def _compile(self, template):
        """A mail template's inline body (an etree, which Odoo compiles anew on
        every render: a third of a booking's time) is kept compiled in Odoo's
        template cache, by its source and the options that change the code.
        An edited template has another source, hence its own entry; the cache
        is bounded and cleared with the other templates'."""
        if not self.env.context.get(CACHE_BODIES) or not isinstance(
            template, etree._Element
        ):
            return super()._compile(template)
        key = (
            CACHE_BODIES,
            etree.tostring(template),
            self.env.context.get("raise_on_forbidden_code_for_model"),
            *(self.env.context.get(k) for k in self._get_template_cache_keys()),
        )
        return self._load_values(key, lambda: super(IrQweb, self)._compile(template))
