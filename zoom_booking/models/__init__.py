from . import (
    booking_calendar,
    calendar_event,
    res_config_settings,
    res_users,
    zoom_call_log,
    zoom_connection,
    zoom_data_purge,
    zoom_meeting_cleanup,
    zoom_webhook_event,
)
