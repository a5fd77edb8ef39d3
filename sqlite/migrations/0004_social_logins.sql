-- 0004_social_logins: the system's social login apps, each tenant's choice among
-- them, the social logins in flight, and which provider account is which user.

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

-- Which provider account (app, subject) signs in as which user, recorded at the
-- first social sign-in. One subject per user and app.
CREATE TABLE sso_links (
	tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	app        TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, app, subject)
);
CREATE UNIQUE INDEX sso_links_user ON sso_links (tenant_id, app, user_id);
CREATE INDEX sso_links_user_id ON sso_links (user_id);
