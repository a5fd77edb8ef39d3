package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// roleColumns are the columns scanRole reads, in order.
const roleColumns = `id, tenant_id, name, permissions, created_at, updated_at`

func scanRole(row pgx.Row) (*orgauth.Role, error) {
	r := &orgauth.Role{Scope: orgauth.ScopeTenant}
	err := row.Scan(&r.ID, &r.TenantID, &r.Name, &r.Permissions,
		msTime{&r.CreatedAt}, msTime{&r.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// roleWriteError maps the constraint errors of a role insert or update.
func roleWriteError(op string, err error) error {
	switch {
	case isUnique(err):
		return orgauth.Errorf(orgauth.ECONFLICT, "a role with this name already exists")
	case isForeignKey(err):
		return notFound("tenant")
	}
	return wrap(op, err)
}

// CreateRole inserts the custom role r, giving it an id if it has none.
func (tq *tenantQueries) CreateRole(ctx context.Context, r *orgauth.Role) error {
	r.TenantID, r.Scope = tq.tenant, orgauth.ScopeTenant
	if r.ID == "" {
		r.ID = orgauth.NewID()
	}
	perms, err := jsonb(r.Permissions)
	if err != nil {
		return wrap("create role", err)
	}
	_, err = tq.q.db.Exec(ctx, `INSERT INTO roles (`+roleColumns+`, name_norm)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.TenantID, r.Name, perms, millis(r.CreatedAt), millis(r.UpdatedAt),
		strings.ToLower(r.Name))
	return roleWriteError("create role", err)
}

// Role returns the custom role with the given id.
func (tq *tenantQueries) Role(ctx context.Context, id string) (*orgauth.Role, error) {
	r, err := scanRole(tq.q.db.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles
		WHERE tenant_id = $1 AND id = $2`, tq.tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("role")
	}
	return r, wrap("get role", err)
}

// ListRoles returns the custom roles of the tenant, by name.
func (tq *tenantQueries) ListRoles(ctx context.Context) ([]*orgauth.Role, error) {
	rows, err := tq.q.db.Query(ctx, `SELECT `+roleColumns+` FROM roles
		WHERE tenant_id = $1 ORDER BY name_norm, id`, tq.tenant)
	if err != nil {
		return nil, wrap("list roles", err)
	}
	defer rows.Close()
	var list []*orgauth.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, wrap("list roles", err)
		}
		list = append(list, r)
	}
	return list, wrap("list roles", rows.Err())
}

// UpdateRole stores the name and permissions of r.
func (tq *tenantQueries) UpdateRole(ctx context.Context, r *orgauth.Role) error {
	perms, err := jsonb(r.Permissions)
	if err != nil {
		return wrap("update role", err)
	}
	tag, err := tq.q.db.Exec(ctx, `UPDATE roles SET name = $1, name_norm = $2,
		permissions = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6`,
		r.Name, strings.ToLower(r.Name), perms, millis(r.UpdatedAt), tq.tenant, r.ID)
	if err != nil {
		return roleWriteError("update role", err)
	}
	return mustAffect("update role", "role", tag, nil)
}

// DeleteRole removes the role and takes it from the tenant's users and teams, in
// one transaction.
func (tq *tenantQueries) DeleteRole(ctx context.Context, id string) error {
	return tq.q.atomically(ctx, func(w querier) error {
		tag, err := w.Exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, tq.tenant, id)
		if err := mustAffect("delete role", "role", tag, err); err != nil {
			return err
		}
		// Ids are hex, so the pattern has no LIKE wildcards of its own.
		pattern := `%"` + id + `"%`
		for _, table := range []string{"users", "teams"} {
			if err := dropRoleFrom(ctx, w, table, tq.tenant, id, pattern); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropRoleFrom removes role id from the roles column of every row of table in
// the tenant that lists it.
func dropRoleFrom(ctx context.Context, w querier, table, tenant, id, pattern string) error {
	rows, err := w.Query(ctx, `SELECT id, roles FROM `+table+`
		WHERE tenant_id = $1 AND roles::text LIKE $2`, tenant, pattern)
	if err != nil {
		return wrap("delete role", err)
	}
	type change struct {
		id    string
		roles []string
	}
	var changes []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.roles); err != nil {
			rows.Close()
			return wrap("delete role", err)
		}
		c.roles = slices.DeleteFunc(c.roles, func(r string) bool { return r == id })
		changes = append(changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("delete role", err)
	}
	for _, c := range changes {
		roles, err := jsonb(nonNil(c.roles))
		if err != nil {
			return wrap("delete role", err)
		}
		if _, err := w.Exec(ctx, `UPDATE `+table+` SET roles = $1
			WHERE tenant_id = $2 AND id = $3`, roles, tenant, c.id); err != nil {
			return wrap("delete role", err)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// teamColumns are the columns scanTeam reads, in order.
const teamColumns = `id, tenant_id, name, roles, sources, annotations, labels, created_at, updated_at`

func scanTeam(row pgx.Row) (*orgauth.Team, error) {
	t := new(orgauth.Team)
	err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.Roles, &t.Sources,
		&t.Annotations, &t.Labels, msTime{&t.CreatedAt}, msTime{&t.UpdatedAt})
	if err != nil {
		return nil, err
	}
	t.Users = []string{}
	return t, nil
}

// teamArgs returns the JSON columns of t: roles, sources, annotations, labels.
func teamArgs(t *orgauth.Team) ([]any, error) {
	var out []any
	for _, v := range []any{nonNil(t.Roles), nonNil(t.Sources), t.Annotations, t.Labels} {
		s, err := jsonb(v)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// teamWriteError maps the constraint errors of a team insert or update.
func teamWriteError(op string, err error) error {
	switch {
	case isUnique(err):
		return orgauth.Errorf(orgauth.ECONFLICT, "a team with this name already exists")
	case isForeignKey(err):
		return notFound("tenant")
	}
	return wrap(op, err)
}

// setMembers makes users exactly the members of a team of the tenant: it
// deletes the members not in users and inserts the new ones. Each new member must
// be a user of the same tenant (the insert selects it from the tenant's users)
// and may be in at most orgauth.MaxTeamsPerUser teams.
func setMembers(ctx context.Context, w querier, tenant, teamID string, users []string) error {
	rows, err := w.Query(ctx, `SELECT user_id FROM team_members WHERE tenant_id = $1 AND team_id = $2`,
		tenant, teamID)
	if err != nil {
		return wrap("set team members", err)
	}
	current := map[string]bool{}
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			rows.Close()
			return wrap("set team members", err)
		}
		current[uid] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("set team members", err)
	}
	want := map[string]bool{}
	for _, uid := range users {
		want[uid] = true
	}
	for uid := range current {
		if want[uid] {
			continue
		}
		if _, err := w.Exec(ctx, `DELETE FROM team_members
			WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3`, tenant, teamID, uid); err != nil {
			return wrap("set team members", err)
		}
	}
	for _, uid := range users {
		if current[uid] {
			continue
		}
		current[uid] = true
		res, err := w.Exec(ctx, `INSERT INTO team_members (team_id, user_id, tenant_id)
			SELECT $1::text, id, tenant_id FROM users WHERE tenant_id = $2 AND id = $3`, teamID, tenant, uid)
		if err := mustAffect("set team members", "user", res, err); err != nil {
			return err
		}
		var n int
		err = w.QueryRow(ctx, `SELECT count(*) FROM team_members WHERE tenant_id = $1 AND user_id = $2`,
			tenant, uid).Scan(&n)
		if err != nil {
			return wrap("set team members", err)
		}
		if n > orgauth.MaxTeamsPerUser {
			return orgauth.Errorf(orgauth.EINVALID, "user %s is already a member of %d teams, the most a user may be in", uid, orgauth.MaxTeamsPerUser)
		}
	}
	return nil
}

// CreateTeam inserts t and its members in one transaction.
func (tq *tenantQueries) CreateTeam(ctx context.Context, t *orgauth.Team) error {
	t.TenantID = tq.tenant
	if t.ID == "" {
		t.ID = orgauth.NewID()
	}
	js, err := teamArgs(t)
	if err != nil {
		return wrap("create team", err)
	}
	return tq.q.atomically(ctx, func(w querier) error {
		args := append([]any{t.ID, t.TenantID, t.Name}, js...)
		args = append(args, millis(t.CreatedAt), millis(t.UpdatedAt), strings.ToLower(t.Name))
		var n int
		err := w.QueryRow(ctx, `SELECT count(*) FROM teams WHERE tenant_id = $1`, tq.tenant).Scan(&n)
		if err != nil {
			return wrap("create team", err)
		}
		if n >= orgauth.MaxTeamsPerTenant {
			return orgauth.Errorf(orgauth.EINVALID, "a tenant may have at most %d teams", orgauth.MaxTeamsPerTenant)
		}
		_, err = w.Exec(ctx, `INSERT INTO teams (`+teamColumns+`, name_norm)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...)
		if err != nil {
			return teamWriteError("create team", err)
		}
		return setMembers(ctx, w, tq.tenant, t.ID, t.Users)
	})
}

// members fills in the members of teams, all of the tenant.
func (tq *tenantQueries) members(ctx context.Context, teams []*orgauth.Team) error {
	if len(teams) == 0 {
		return nil
	}
	byID := make(map[string]*orgauth.Team, len(teams))
	ids := make([]string, 0, len(teams))
	for _, t := range teams {
		byID[t.ID] = t
		ids = append(ids, t.ID)
	}
	rows, err := tq.q.db.Query(ctx, `SELECT team_id, user_id FROM team_members
		WHERE tenant_id = $1 AND team_id = ANY($2) ORDER BY team_id, user_id`, tq.tenant, ids)
	if err != nil {
		return wrap("team members", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tid, uid string
		if err := rows.Scan(&tid, &uid); err != nil {
			return wrap("team members", err)
		}
		byID[tid].Users = append(byID[tid].Users, uid)
	}
	return wrap("team members", rows.Err())
}

// Team returns the team with the given id and its members.
func (tq *tenantQueries) Team(ctx context.Context, id string) (*orgauth.Team, error) {
	t, err := scanTeam(tq.q.db.QueryRow(ctx, `SELECT `+teamColumns+` FROM teams
		WHERE tenant_id = $1 AND id = $2`, tq.tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("team")
	}
	if err != nil {
		return nil, wrap("get team", err)
	}
	return t, tq.members(ctx, []*orgauth.Team{t})
}

// teams runs a query of teamColumns and fills in the members.
func (tq *tenantQueries) teams(ctx context.Context, query string, args ...any) ([]*orgauth.Team, error) {
	rows, err := tq.q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("list teams", err)
	}
	var list []*orgauth.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("list teams", err)
		}
		list = append(list, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list teams", err)
	}
	return list, tq.members(ctx, list)
}

// teamsOnly runs a query of teamColumns without reading the members.
func (tq *tenantQueries) teamsOnly(ctx context.Context, query string, args ...any) ([]*orgauth.Team, error) {
	rows, err := tq.q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("list teams", err)
	}
	defer rows.Close()
	var list []*orgauth.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, wrap("list teams", err)
		}
		t.Users = nil
		list = append(list, t)
	}
	return list, wrap("list teams", rows.Err())
}

// ListTeams returns a page of teams by name (keyset on name_norm, id).
func (tq *tenantQueries) ListTeams(ctx context.Context, p orgauth.Page) ([]*orgauth.Team, string, error) {
	var a args
	query := `SELECT ` + teamColumns + ` FROM teams WHERE tenant_id = ` + a.add(tq.tenant)
	if p.Continue != "" {
		key, id, err := parseNameCursor(p.Continue)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (name_norm, id) > (` + a.add(key) + `, ` + a.add(id) + `)`
	}
	n := limit(p.Limit)
	query += ` ORDER BY name_norm, id LIMIT ` + a.add(n+1)
	list, err := tq.teams(ctx, query, a...)
	if err != nil || len(list) <= n {
		return list, "", err
	}
	list = list[:n]
	last := list[n-1]
	return list, nameCursor(strings.ToLower(last.Name), last.ID), nil
}

// nameCursor returns the cursor that continues after the row (key, id).
func nameCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t\x00" + id + "\x00" + key))
}

func parseNameCursor(cursor string) (key, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", "", badCursor()
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 || parts[0] != "t" || parts[1] == "" {
		return "", "", badCursor()
	}
	return parts[2], parts[1], nil
}

// UpdateTeam stores t and replaces its members, in one transaction.
func (tq *tenantQueries) UpdateTeam(ctx context.Context, t *orgauth.Team) error {
	js, err := teamArgs(t)
	if err != nil {
		return wrap("update team", err)
	}
	return tq.q.atomically(ctx, func(w querier) error {
		args := append([]any{t.Name, strings.ToLower(t.Name)}, js...)
		args = append(args, millis(t.UpdatedAt), tq.tenant, t.ID)
		tag, err := w.Exec(ctx, `UPDATE teams SET name = $1, name_norm = $2, roles = $3,
			sources = $4, annotations = $5, labels = $6, updated_at = $7
			WHERE tenant_id = $8 AND id = $9`, args...)
		if err != nil {
			return teamWriteError("update team", err)
		}
		if err := mustAffect("update team", "team", tag, nil); err != nil {
			return err
		}
		return setMembers(ctx, w, tq.tenant, t.ID, t.Users)
	})
}

// DeleteTeam removes the team; its memberships go with it.
func (tq *tenantQueries) DeleteTeam(ctx context.Context, id string) error {
	tag, err := tq.q.db.Exec(ctx, `DELETE FROM teams WHERE tenant_id = $1 AND id = $2`, tq.tenant, id)
	return mustAffect("delete team", "team", tag, err)
}

// UserTeams returns the teams of the user, by name, without their members.
func (tq *tenantQueries) UserTeams(ctx context.Context, userID string) ([]*orgauth.Team, error) {
	return tq.teamsOnly(ctx, `SELECT `+prefixed("t.", teamColumns)+` FROM teams t
		JOIN team_members m ON m.team_id = t.id AND m.tenant_id = t.tenant_id
		WHERE t.tenant_id = $1 AND m.user_id = $2 ORDER BY t.name_norm, t.id`, tq.tenant, userID)
}

// prefixed qualifies every column of a column list.
func prefixed(p, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// SetUserTeams makes the user a member of exactly teamIDs, in one transaction.
func (tq *tenantQueries) SetUserTeams(ctx context.Context, userID string, teamIDs []string) error {
	return tq.q.atomically(ctx, func(w querier) error {
		var n int
		err := w.QueryRow(ctx, `SELECT count(*) FROM users WHERE tenant_id = $1 AND id = $2`,
			tq.tenant, userID).Scan(&n)
		if err != nil {
			return wrap("set user teams", err)
		}
		if n == 0 {
			return notFound("user")
		}
		if _, err := w.Exec(ctx, `DELETE FROM team_members WHERE tenant_id = $1 AND user_id = $2`,
			tq.tenant, userID); err != nil {
			return wrap("set user teams", err)
		}
		seen := map[string]bool{}
		for _, tid := range teamIDs {
			seen[tid] = true
		}
		if len(seen) > orgauth.MaxTeamsPerUser {
			return orgauth.Errorf(orgauth.EINVALID, "a user may be a member of at most %d teams", orgauth.MaxTeamsPerUser)
		}
		seen = map[string]bool{}
		for _, tid := range teamIDs {
			if seen[tid] {
				continue
			}
			seen[tid] = true
			tag, err := w.Exec(ctx, `INSERT INTO team_members (team_id, user_id, tenant_id)
				SELECT id, $1::text, tenant_id FROM teams WHERE tenant_id = $2 AND id = $3`, userID, tq.tenant, tid)
			if err := mustAffect("set user teams", "team", tag, err); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListAudit returns a page of the tenant's audit records, newest first.
func (tq *tenantQueries) ListAudit(ctx context.Context, p orgauth.Page) ([]*orgauth.AuditRecord, string, error) {
	query := `SELECT id, tenant_id, actor_id, action, target, outcome, request_id, client_ip,
		created_at FROM audit WHERE tenant_id = `
	var a args
	query += a.add(tq.tenant)
	if p.Continue != "" {
		ms, id, err := parseAuditCursor(p.Continue)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (created_at, id) < (` + a.add(ms) + `, ` + a.add(id) + `)`
	}
	n := limit(p.Limit)
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + a.add(n+1)
	rows, err := tq.q.db.Query(ctx, query, a...)
	if err != nil {
		return nil, "", wrap("list audit", err)
	}
	defer rows.Close()
	var list []*orgauth.AuditRecord
	for rows.Next() {
		r := new(orgauth.AuditRecord)
		if err := rows.Scan(&r.ID, &r.TenantID, &r.ActorID, &r.Action, &r.Target, &r.Outcome,
			&r.RequestID, &r.ClientIP, msTime{&r.CreatedAt}); err != nil {
			return nil, "", wrap("list audit", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("list audit", err)
	}
	if len(list) <= n {
		return list, "", nil
	}
	list = list[:n]
	last := list[n-1]
	return list, auditCursor(millis(last.CreatedAt), last.ID), nil
}

func auditCursor(ms int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a\x00" + id + "\x00" + strconv.FormatInt(ms, 10)))
}

func parseAuditCursor(cursor string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", badCursor()
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 || parts[0] != "a" || parts[1] == "" {
		return 0, "", badCursor()
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return 0, "", badCursor()
	}
	return ms, parts[1], nil
}
