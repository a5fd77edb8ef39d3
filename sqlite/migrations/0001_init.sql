-- 0001_init: the initial schema.
--
-- Portable to PostgreSQL: ids are TEXT, times are INTEGER unix milliseconds (UTC,
-- 0 for the zero time), booleans are INTEGER 0/1, maps and lists are JSON TEXT,
-- secrets and keys are BLOB (bytea in PostgreSQL).

CREATE TABLE tenants (
	id                   TEXT    NOT NULL PRIMARY KEY,
	name                 TEXT    NOT NULL,
	system               INTEGER NOT NULL DEFAULT 0,
	email                TEXT    NOT NULL DEFAULT '',
	auth_type            TEXT    NOT NULL DEFAULT '',
	login_mode           TEXT    NOT NULL DEFAULT '',
	address              TEXT    NOT NULL DEFAULT '{}',
	active               INTEGER NOT NULL DEFAULT 0,
	annotations          TEXT    NOT NULL DEFAULT '{}',
	labels               TEXT    NOT NULL DEFAULT '{}',
	token_expiry_minutes INTEGER NOT NULL DEFAULT 0,
	banner_enabled       INTEGER NOT NULL DEFAULT 0,
	banner_title         TEXT    NOT NULL DEFAULT '',
	banner_message       TEXT    NOT NULL DEFAULT '',
	created_at           INTEGER NOT NULL DEFAULT 0,
	updated_at           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tenants_name ON tenants (name);
-- At most one system tenant.
CREATE UNIQUE INDEX tenants_system ON tenants (system) WHERE system = 1;

CREATE TABLE users (
	id                  TEXT    NOT NULL PRIMARY KEY,
	tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	email               TEXT    NOT NULL,
	email_norm          TEXT    NOT NULL, -- orgauth.NormalizeEmail(email)
	first_name          TEXT    NOT NULL DEFAULT '',
	last_name           TEXT    NOT NULL DEFAULT '',
	name_norm           TEXT    NOT NULL DEFAULT '', -- lower-cased "first last", the name sort key
	login_mode          TEXT    NOT NULL DEFAULT '',
	roles               TEXT    NOT NULL DEFAULT '[]',
	annotations         TEXT    NOT NULL DEFAULT '{}',
	labels              TEXT    NOT NULL DEFAULT '{}',
	activated           INTEGER NOT NULL DEFAULT 0,
	disabled            INTEGER NOT NULL DEFAULT 0,
	password_hash       TEXT    NOT NULL DEFAULT '',
	failed_logins       INTEGER NOT NULL DEFAULT 0,
	locked_until        INTEGER NOT NULL DEFAULT 0,
	last_sign_in        INTEGER NOT NULL DEFAULT 0,
	password_changed_at INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL DEFAULT 0,
	updated_at          INTEGER NOT NULL DEFAULT 0
);
-- Unique email per tenant. Leading with email_norm lets the same index serve
-- UserByEmail (email_norm, tenant_id) and UsersByEmail (email_norm alone).
CREATE UNIQUE INDEX users_email ON users (email_norm, tenant_id);
-- Keyset pagination of ListUsers, and the cascade from tenants.
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX users_name ON users (tenant_id, name_norm, id);

CREATE TABLE sessions (
	id           TEXT    NOT NULL PRIMARY KEY,
	tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL DEFAULT 0,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_tenant ON sessions (tenant_id);

CREATE TABLE user_tokens (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	created_at INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL DEFAULT 0,
	used_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);
CREATE INDEX user_tokens_tenant ON user_tokens (tenant_id);

CREATE TABLE api_keys (
	id          TEXT    NOT NULL PRIMARY KEY,
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name        TEXT    NOT NULL DEFAULT '',
	annotations TEXT    NOT NULL DEFAULT '{}',
	hash        BLOB    NOT NULL,
	active      INTEGER NOT NULL DEFAULT 0,
	expires_at  INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE signing_keys (
	id             TEXT    NOT NULL PRIMARY KEY,
	algorithm      TEXT    NOT NULL,
	public_key     BLOB    NOT NULL,
	sealed_private BLOB    NOT NULL,
	created_at     INTEGER NOT NULL DEFAULT 0,
	retires_at     INTEGER NOT NULL DEFAULT 0,
	expires_at     INTEGER NOT NULL DEFAULT 0
);

-- The audit trail has no foreign keys on purpose: it outlives the objects it
-- names, and a record is never refused because its tenant or actor is gone.
CREATE TABLE audit (
	id         TEXT    NOT NULL PRIMARY KEY,
	tenant_id  TEXT    NOT NULL DEFAULT '',
	actor_id   TEXT    NOT NULL DEFAULT '',
	action     TEXT    NOT NULL DEFAULT '',
	target     TEXT    NOT NULL DEFAULT '',
	outcome    TEXT    NOT NULL DEFAULT '',
	request_id TEXT    NOT NULL DEFAULT '',
	client_ip  TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_tenant ON audit (tenant_id, created_at);
