-- 0002_teams_roles: custom roles and teams, the PostgreSQL twin of
-- sqlite/migrations/0002_teams_roles.sql.

CREATE TABLE roles (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	name_norm   TEXT COLLATE "C" NOT NULL,
	permissions JSONB NOT NULL DEFAULT '[]',
	created_at  BIGINT NOT NULL DEFAULT 0,
	updated_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, name_norm);

CREATE TABLE teams (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	name_norm   TEXT COLLATE "C" NOT NULL,
	roles       JSONB NOT NULL DEFAULT '[]',
	sources     JSONB NOT NULL DEFAULT '[]',
	annotations JSONB NOT NULL DEFAULT '{}',
	labels      JSONB NOT NULL DEFAULT '{}',
	created_at  BIGINT NOT NULL DEFAULT 0,
	updated_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX teams_name ON teams (tenant_id, name_norm);

CREATE TABLE team_members (
	team_id   TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id   TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	tenant_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Who made an API key for another user: such a key never acts with more than
-- its maker holds.
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
