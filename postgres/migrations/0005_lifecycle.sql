-- 0005_lifecycle: the mail outbox, password policies, the password blocklist and
-- password expiry reminders.

-- Mail waiting to go out, queued in the transaction of the change it tells of.
-- The message is sealed with the master key (it carries links that are
-- credentials) and dropped once sent or given up; the row stays as the record.
CREATE TABLE mail_outbox (
	id          TEXT    NOT NULL PRIMARY KEY,
	kind        TEXT    NOT NULL,
	tenant_id   TEXT    NOT NULL DEFAULT '',
	sealed      BYTEA   NOT NULL DEFAULT '',
	created_at  BIGINT  NOT NULL DEFAULT 0,
	next_at     BIGINT  NOT NULL DEFAULT 0,
	expires_at  BIGINT  NOT NULL DEFAULT 0,
	lease_until BIGINT  NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	sent_at     BIGINT  NOT NULL DEFAULT 0,
	failed_at   BIGINT  NOT NULL DEFAULT 0
);
-- The worker's question: what is due? Only waiting messages are indexed.
CREATE INDEX mail_outbox_due ON mail_outbox (next_at) WHERE sent_at = 0 AND failed_at = 0;

-- The system's default password policy (one row, id 1) and tenants' own.
CREATE TABLE system_password_policy (
	id                  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	min_length          INTEGER NOT NULL,
	max_length          INTEGER NOT NULL,
	min_upper           INTEGER NOT NULL,
	min_lower           INTEGER NOT NULL,
	min_digits          INTEGER NOT NULL,
	min_special         INTEGER NOT NULL,
	is_regex            BOOLEAN NOT NULL DEFAULT false,
	regex               TEXT    NOT NULL DEFAULT '',
	expiry_days         INTEGER NOT NULL DEFAULT 0,
	first_reminder_days INTEGER NOT NULL DEFAULT 0,
	reminder_every_days INTEGER NOT NULL DEFAULT 0,
	created_at          BIGINT  NOT NULL DEFAULT 0,
	updated_at          BIGINT  NOT NULL DEFAULT 0
);
CREATE TABLE tenant_password_policies (
	tenant_id           TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	min_length          INTEGER NOT NULL,
	max_length          INTEGER NOT NULL,
	min_upper           INTEGER NOT NULL,
	min_lower           INTEGER NOT NULL,
	min_digits          INTEGER NOT NULL,
	min_special         INTEGER NOT NULL,
	is_regex            BOOLEAN NOT NULL DEFAULT false,
	regex               TEXT    NOT NULL DEFAULT '',
	expiry_days         INTEGER NOT NULL DEFAULT 0,
	first_reminder_days INTEGER NOT NULL DEFAULT 0,
	reminder_every_days INTEGER NOT NULL DEFAULT 0,
	created_at          BIGINT  NOT NULL DEFAULT 0,
	updated_at          BIGINT  NOT NULL DEFAULT 0
);

-- Passwords the operator blocked, as keyed hashes only: the list cannot be read.
CREATE TABLE password_blocklist (
	hash       BYTEA   NOT NULL PRIMARY KEY,
	created_at BIGINT  NOT NULL DEFAULT 0
);

-- When the user was last reminded that the password expires (0: never).
ALTER TABLE users ADD COLUMN password_reminded_at BIGINT NOT NULL DEFAULT 0;

-- Passwords set before password expiry existed would all expire at once under the
-- default 365 days: count them as set no earlier than 300 days before this
-- upgrade, so each gets its reminder and at least 65 days to change.
UPDATE users SET password_changed_at =
	GREATEST(password_changed_at, (extract(epoch FROM now()) * 1000)::bigint - 300::bigint * 86400000)
	WHERE password_changed_at <> 0;
