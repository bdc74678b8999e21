from . import test_zoom_connection
from . import (
    test_booking_access,
    test_booking_flow,
    test_booking_race,
    test_booking_slots,
)
from . import test_zoom_access
from . import test_zoom_token_refresh
from . import test_zoom_webhook
from . import test_zoom_meeting
from . import test_zoom_disconnect
from . import test_security_rpc
from . import test_fuzz_public_routes
from . import test_escaping
from . import test_booking_queries
from . import test_booking_dashboard
from . import test_zoom_real_rules
from . import test_bad_input
from . import test_nobody_touches
from . import test_ics
from . import test_mails_while_zoom_answers
