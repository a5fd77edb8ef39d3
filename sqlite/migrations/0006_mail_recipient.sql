-- 0006_mail_recipient: whom each mail went to, as a keyed MAC of the address
-- (token.MailRecipientMAC), so that mail recently queued to an address can be
-- found (the once-a-minute limit of the organizations mail) without the
-- address in the clear. Empty for rows queued before and for requests.
ALTER TABLE mail_outbox ADD COLUMN recipient BLOB NOT NULL DEFAULT x'';
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, created_at) WHERE recipient <> x'';
