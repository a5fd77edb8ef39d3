-- 0001_init: the initial schema, the PostgreSQL twin of sqlite/migrations/0001_init.sql:
-- the same tables, columns, constraints and indexes, with PostgreSQL types.
--
-- ids are TEXT, times are BIGINT unix milliseconds (UTC, 0 for the zero time),
-- booleans are BOOLEAN, maps and lists are JSONB, secrets and keys are BYTEA.
--
-- Columns that are sorted or compared as keys (ids, the tenant name and the
-- normalized email and name) use the "C" collation: byte order, the order of
-- SQLite's BINARY and of Go strings, whatever the database's default collation.
-- first_name and last_name keep the default collation so that lower() folds
-- non-ASCII letters as the database locale does.

CREATE TABLE tenants (
	id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name                 TEXT COLLATE "C" NOT NULL,
	system               BOOLEAN NOT NULL DEFAULT false,
	email                TEXT    NOT NULL DEFAULT '',
	auth_type            TEXT    NOT NULL DEFAULT '',
	login_mode           TEXT    NOT NULL DEFAULT '',
	address              JSONB   NOT NULL DEFAULT '{}',
	active               BOOLEAN NOT NULL DEFAULT false,
	annotations          JSONB   NOT NULL DEFAULT '{}',
	labels               JSONB   NOT NULL DEFAULT '{}',
	token_expiry_minutes INTEGER NOT NULL DEFAULT 0,
	banner_enabled       BOOLEAN NOT NULL DEFAULT false,
	banner_title         TEXT    NOT NULL DEFAULT '',
	banner_message       TEXT    NOT NULL DEFAULT '',
	created_at           BIGINT  NOT NULL DEFAULT 0,
	updated_at           BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tenants_name ON tenants (name);
-- At most one system tenant.
CREATE UNIQUE INDEX tenants_system ON tenants (system) WHERE system;

CREATE TABLE users (
	id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id           TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	email               TEXT    NOT NULL,
	email_norm          TEXT COLLATE "C" NOT NULL, -- orgauth.NormalizeEmail(email)
	first_name          TEXT    NOT NULL DEFAULT '',
	last_name           TEXT    NOT NULL DEFAULT '',
	name_norm           TEXT COLLATE "C" NOT NULL DEFAULT '', -- lower-cased "first last", the name sort key
	login_mode          TEXT    NOT NULL DEFAULT '',
	roles               JSONB   NOT NULL DEFAULT '[]',
	annotations         JSONB   NOT NULL DEFAULT '{}',
	labels              JSONB   NOT NULL DEFAULT '{}',
	activated           BOOLEAN NOT NULL DEFAULT false,
	disabled            BOOLEAN NOT NULL DEFAULT false,
	password_hash       TEXT    NOT NULL DEFAULT '',
	failed_logins       INTEGER NOT NULL DEFAULT 0,
	locked_until        BIGINT  NOT NULL DEFAULT 0,
	last_sign_in        BIGINT  NOT NULL DEFAULT 0,
	password_changed_at BIGINT  NOT NULL DEFAULT 0,
	created_at          BIGINT  NOT NULL DEFAULT 0,
	updated_at          BIGINT  NOT NULL DEFAULT 0
);
-- Unique email per tenant. Leading with email_norm lets the same index serve
-- UserByEmail (email_norm, tenant_id) and UsersByEmail (email_norm alone).
CREATE UNIQUE INDEX users_email ON users (email_norm, tenant_id);
-- Keyset pagination of ListUsers, and the cascade from tenants.
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX users_name ON users (tenant_id, name_norm, id);

CREATE TABLE sessions (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   BIGINT NOT NULL DEFAULT 0,
	last_used_at BIGINT NOT NULL DEFAULT 0,
	expires_at   BIGINT NOT NULL DEFAULT 0,
	revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_tenant ON sessions (tenant_id);

CREATE TABLE user_tokens (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT   NOT NULL,
	hash       BYTEA  NOT NULL,
	created_at BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL DEFAULT 0,
	used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);
CREATE INDEX user_tokens_tenant ON user_tokens (tenant_id);

CREATE TABLE api_keys (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name        TEXT    NOT NULL DEFAULT '',
	annotations JSONB   NOT NULL DEFAULT '{}',
	hash        BYTEA   NOT NULL,
	active      BOOLEAN NOT NULL DEFAULT false,
	expires_at  BIGINT  NOT NULL DEFAULT 0,
	created_at  BIGINT  NOT NULL DEFAULT 0,
	updated_at  BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE signing_keys (
	id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	algorithm      TEXT   NOT NULL,
	public_key     BYTEA  NOT NULL,
	sealed_private BYTEA  NOT NULL,
	created_at     BIGINT NOT NULL DEFAULT 0,
	retires_at     BIGINT NOT NULL DEFAULT 0,
	expires_at     BIGINT NOT NULL DEFAULT 0
);

-- The audit trail has no foreign keys on purpose: it outlives the objects it
-- names, and a record is never refused because its tenant or actor is gone.
CREATE TABLE audit (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
	actor_id   TEXT   NOT NULL DEFAULT '',
	action     TEXT   NOT NULL DEFAULT '',
	target     TEXT   NOT NULL DEFAULT '',
	outcome    TEXT   NOT NULL DEFAULT '',
	request_id TEXT   NOT NULL DEFAULT '',
	client_ip  TEXT   NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_tenant ON audit (tenant_id, created_at);
