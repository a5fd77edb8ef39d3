-- 0002_teams_roles: custom roles and teams.
--
-- Users keep their direct role ids in users.roles (JSON); a team's role ids are
-- in teams.roles. Membership is a table of its own so that deleting a user or a
-- team ends it.

CREATE TABLE roles (
	id          TEXT    NOT NULL PRIMARY KEY,
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        TEXT    NOT NULL,
	name_norm   TEXT    NOT NULL, -- lower(name): names are unique case-insensitively
	permissions TEXT    NOT NULL DEFAULT '[]',
	created_at  INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, name_norm);

CREATE TABLE teams (
	id          TEXT    NOT NULL PRIMARY KEY,
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        TEXT    NOT NULL,
	name_norm   TEXT    NOT NULL,
	roles       TEXT    NOT NULL DEFAULT '[]',
	sources     TEXT    NOT NULL DEFAULT '[]',
	annotations TEXT    NOT NULL DEFAULT '{}',
	labels      TEXT    NOT NULL DEFAULT '{}',
	created_at  INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX teams_name ON teams (tenant_id, name_norm);

CREATE TABLE team_members (
	team_id   TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	tenant_id TEXT NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Who made an API key for another user: such a key never acts with more than
-- its maker holds.
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
