"""mail.template: whether a booking mail's body needs the full QWeb engine is
known once per body, not checked anew on every mail."""

from odoo import api, models, tools

from .ir_qweb import CACHE_BODIES


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.model
    def _has_unsafe_expression_template_qweb(self, template_src, model):
        # Odoo compiles the whole body to answer this, on every render; the
        # answer depends only on the source and the model.
        if not self.env.context.get(CACHE_BODIES):
            return super()._has_unsafe_expression_template_qweb(template_src, model)
        return self._booking_body_needs_qweb(template_src, model)

    @tools.ormcache("template_src", "model")
    def _booking_body_needs_qweb(self, template_src, model):
        return super()._has_unsafe_expression_template_qweb(template_src, model)
