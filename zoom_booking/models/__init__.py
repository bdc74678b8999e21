from . import (
    booking_calendar,
    booking_calendar_availability,
    calendar_event,
    res_config_settings,
    res_users,
    zoom_call_log,
    zoom_connection,
    zoom_data_purge,
    zoom_meeting_cleanup,
    zoom_webhook_event,
)
