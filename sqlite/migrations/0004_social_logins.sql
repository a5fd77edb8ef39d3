-- 0004_social_logins: the system's social login apps, each tenant's choice among
-- them, and the social logins in flight.

-- One row per social login app (github, or a named OIDC client). The client
-- secret is sealed with the master key (AES-256-GCM, bound to the app's name).
CREATE TABLE sso_apps (
	name          TEXT    NOT NULL PRIMARY KEY,
	kind          TEXT    NOT NULL,
	enabled       INTEGER NOT NULL DEFAULT 0,
	client_id     TEXT    NOT NULL DEFAULT '',
	sealed_secret BLOB    NOT NULL DEFAULT x'',
	issuer_url    TEXT    NOT NULL DEFAULT '',
	scopes        TEXT    NOT NULL DEFAULT '[]',
	claims        TEXT    NOT NULL DEFAULT '{}',
	logo_url      TEXT    NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL DEFAULT 0
);

-- A tenant's choice of social logins; no row: disabled.
CREATE TABLE tenant_sso_logins (
	tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	enabled    INTEGER NOT NULL DEFAULT 0,
	logins     TEXT    NOT NULL DEFAULT '[]',
	updated_at INTEGER NOT NULL DEFAULT 0
);

-- Social logins started and not yet finished: the SHA-256 of the state, the
-- SHA-256 of the browser's binding cookie, the org and app. Deleted on use.
CREATE TABLE sso_flows (
	id            TEXT    NOT NULL PRIMARY KEY,
	app           TEXT    NOT NULL,
	tenant_id     TEXT    NOT NULL DEFAULT '',
	browser_hash  BLOB    NOT NULL,
	redirect_path TEXT    NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL DEFAULT 0,
	expires_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_at);
