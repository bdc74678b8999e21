-- A neutralized copy must not act on anyone's Zoom account.
UPDATE zoom_connection
   SET access_token = NULL,
       refresh_token = NULL,
       token_expires_at = NULL,
       state = 'needs_reconnect';
DELETE FROM ir_config_parameter
 WHERE key IN ('zoom_booking.client_secret', 'zoom_booking.webhook_secret_token');
