"""Transactions of their own: work committed apart from the caller's, and work
done once the caller's transaction is committed."""

import random
from time import monotonic, sleep

from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..exceptions import BookingBusyError, SlotLostError

RETRIED = (*PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, SlotLostError)


def run_in_own_transaction(env, work, max_wait=8.0, read_committed=False):
    """``work(new_env)`` in a transaction of its own, committed; retried at once
    with a fresh snapshot when a concurrent booking of the same host won.

    ``read_committed``: the transaction runs at PostgreSQL's READ COMMITTED
    level (Odoo's is REPEATABLE READ), for work that takes its lock last and
    must then see what the previous holder committed (a guest's booking: see
    ``booking.slot.mixin._hold_slot``).

    :raise BookingBusyError: when it keeps losing for ``max_wait`` seconds
    """
    deadline = monotonic() + max_wait
    attempt = 0
    while True:
        attempt += 1
        try:
            with env.registry.cursor() as cr:
                # Only before the transaction's first query; a cursor that is
                # already in one (a test's) keeps its level.
                if read_committed and (
                    cr._cnx.info.transaction_status == TRANSACTION_STATUS_IDLE
                ):
                    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                return work(env(cr=cr))
        except RETRIED:
            if monotonic() > deadline:
                raise BookingBusyError(
                    env._(
                        "Many guests are booking this calendar right now: "
                        "please confirm again in a moment."
                    )
                ) from None
            sleep(random.uniform(0.01, min(0.25, 0.02 * attempt)))


def after_commit(env, func, context=None):
    """Call ``func(new_env)`` once ``env``'s transaction is committed, in a new
    transaction as superuser (committed when ``func`` returns), as
    ``google_calendar``'s ``after_commit`` does: Zoom changes only when Odoo
    really did. Nothing runs when the transaction is rolled back.
    """
    dbname = env.cr.dbname
    context = dict(context or {})

    @env.cr.postcommit.add
    def run():
        with Registry(dbname).cursor() as cr:
            func(api.Environment(cr, SUPERUSER_ID, context))
