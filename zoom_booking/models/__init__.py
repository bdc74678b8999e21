from . import (
    zoom_meeting_mixin,
    booking_slot_mixin,
    booking_calendar,
    booking_calendar_availability,
    calendar_event,
    res_config_settings,
    res_users,
    zoom_call_log,
    zoom_connection,
    zoom_data_purge,
    zoom_meeting_job,
    zoom_webhook_event,
)
