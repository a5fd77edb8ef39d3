package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
)

// userColumns are the columns scanUser reads, in order.
const userColumns = `id, tenant_id, email, first_name, last_name, login_mode, roles,
	annotations, labels, activated, disabled, password_hash, failed_logins,
	locked_until, last_sign_in, password_changed_at, created_at, updated_at`

// scanUser reads a row of userColumns.
func scanUser(row pgx.Row) (*orgauth.User, error) {
	u := new(orgauth.User)
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.FirstName, &u.LastName, &u.LoginMode,
		&u.Roles, &u.Annotations, &u.Labels, &u.Activated,
		&u.Disabled, &u.PasswordHash, &u.FailedLogins, msTime{&u.LockedUntil},
		msTime{&u.LastSignIn}, msTime{&u.PasswordChangedAt}, msTime{&u.CreatedAt},
		msTime{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// scanUsers reads every row of userColumns.
func scanUsers(rows pgx.Rows, err error) ([]*orgauth.User, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*orgauth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, u)
	}
	return list, rows.Err()
}

// nameKey is the name sort key of u.
func nameKey(u *orgauth.User) string { return strings.ToLower(u.Name()) }

// userJSON returns the JSON columns of u: roles, annotations, labels.
func userJSON(u *orgauth.User) (roles, ann, labels []byte, err error) {
	if roles, err = jsonb(u.Roles); err != nil {
		return
	}
	if ann, err = jsonb(u.Annotations); err != nil {
		return
	}
	labels, err = jsonb(u.Labels)
	return
}

// userWriteError maps the constraint errors of a user insert or update.
func userWriteError(op string, err error) error {
	switch {
	case isUniqueOn(err, "users_email"):
		return orgauth.Errorf(orgauth.ECONFLICT, "a user with this email already exists")
	case isUnique(err):
		return orgauth.Errorf(orgauth.ECONFLICT, "the user already exists")
	case isForeignKey(err):
		return notFound("tenant")
	}
	return wrap(op, err)
}

// userInsertColumns are the columns of a new user row, in the order of userRow.
var userInsertColumns = []string{"id", "tenant_id", "email", "first_name", "last_name",
	"login_mode", "roles", "annotations", "labels", "activated", "disabled",
	"password_hash", "failed_logins", "locked_until", "last_sign_in",
	"password_changed_at", "created_at", "updated_at", "email_norm", "name_norm"}

// insertUser is the statement that inserts one user.
var insertUser = `INSERT INTO users (` + strings.Join(userInsertColumns, ", ") + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`

// userRow returns the values of userInsertColumns for u.
func userRow(u *orgauth.User) ([]any, error) {
	roles, ann, labels, err := userJSON(u)
	if err != nil {
		return nil, err
	}
	return []any{u.ID, u.TenantID, u.Email, u.FirstName, u.LastName, u.LoginMode,
		roles, ann, labels, u.Activated, u.Disabled, u.PasswordHash, u.FailedLogins,
		millis(u.LockedUntil), millis(u.LastSignIn), millis(u.PasswordChangedAt),
		millis(u.CreatedAt), millis(u.UpdatedAt),
		orgauth.NormalizeEmail(u.Email), nameKey(u)}, nil
}

// CreateUser inserts u into the tenant, giving it an id if it has none.
func (tq *tenantQueries) CreateUser(ctx context.Context, u *orgauth.User) error {
	u.TenantID = tq.tenant
	if u.ID == "" {
		u.ID = orgauth.NewID()
	}
	row, err := userRow(u)
	if err != nil {
		return wrap("create user", err)
	}
	_, err = tq.q.db.Exec(ctx, insertUser, row...)
	return userWriteError("create user", err)
}

// BulkCreateUsers inserts users into the tenant in one transaction with COPY,
// giving an id to those without. It is meant for seeding and imports: one
// duplicate email fails the whole batch.
func (db *DB) BulkCreateUsers(ctx context.Context, tenantID string, users []*orgauth.User) error {
	rows := make([][]any, len(users))
	for i, u := range users {
		u.TenantID = tenantID
		if u.ID == "" {
			u.ID = orgauth.NewID()
		}
		row, err := userRow(u)
		if err != nil {
			return wrap("bulk create users", err)
		}
		rows[i] = row
	}
	return transact(ctx, db.pool, func(tx pgx.Tx) error {
		// Lock the tenant against a concurrent delete, and answer ENOTFOUND
		// before sending any row.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR KEY SHARE`, tenantID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("tenant")
		}
		if err != nil {
			return wrap("bulk create users", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"users"}, userInsertColumns, pgx.CopyFromRows(rows))
		return userWriteError("bulk create users", err)
	})
}

// user returns the user of a single-row query.
func (tq *tenantQueries) user(ctx context.Context, where string, arg any) (*orgauth.User, error) {
	row := tq.q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE tenant_id = $1 AND `+where, tq.tenant, arg)
	u, err := scanUser(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, wrap("get user", err)
}

// User returns the user with the given id.
func (tq *tenantQueries) User(ctx context.Context, id string) (*orgauth.User, error) {
	return tq.user(ctx, `id = $2`, id)
}

// UserByEmail returns the user with the given email, compared normalized.
func (tq *tenantQueries) UserByEmail(ctx context.Context, email string) (*orgauth.User, error) {
	return tq.user(ctx, `email_norm = $2`, orgauth.NormalizeEmail(email))
}

// UsersByEmail returns the users with this email in every tenant, oldest first.
func (q *queries) UsersByEmail(ctx context.Context, email string) ([]*orgauth.User, error) {
	list, err := scanUsers(q.db.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE email_norm = $1 ORDER BY created_at, id`, orgauth.NormalizeEmail(email)))
	return list, wrap("users by email", err)
}

// CountUsers counts the users of the tenant.
func (tq *tenantQueries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := tq.q.db.QueryRow(ctx,
		`SELECT count(*) FROM users WHERE tenant_id = $1`, tq.tenant).Scan(&n)
	return n, wrap("count users", err)
}

// ListUsers returns a page of the users matching f, with keyset pagination on
// (created_at, id) or (name_norm, id).
func (tq *tenantQueries) ListUsers(ctx context.Context, f orgauth.UserFilter) ([]*orgauth.User, string, error) {
	mode := userCursorMode(f)
	var a args
	query := `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ` + a.add(tq.tenant)
	query += emailCondition(&a, f.Email)
	query += nameCondition(&a, f.Name)

	sortCol, order, cmp := "created_at", "", ">"
	if f.SortByName {
		sortCol = "name_norm"
	}
	if f.Desc {
		order, cmp = " DESC", "<"
	}
	if f.Continue != "" {
		key, id, err := parseUserCursor(mode, f.Continue)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (` + sortCol + `, id) ` + cmp + ` (` + a.add(key) + `, ` + a.add(id) + `)`
	}
	n := limit(f.Limit)
	query += ` ORDER BY ` + sortCol + order + `, id` + order + ` LIMIT ` + a.add(n+1)

	list, err := scanUsers(tq.q.db.Query(ctx, query, a...))
	if err != nil {
		return nil, "", wrap("list users", err)
	}
	if len(list) <= n {
		return list, "", nil
	}
	list = list[:n]
	return list, userCursor(mode, list[n-1]), nil
}

// userCursorMode names the order of f; a cursor only continues the same order.
func userCursorMode(f orgauth.UserFilter) string {
	mode := "c"
	if f.SortByName {
		mode = "n"
	}
	if f.Desc {
		mode += "d"
	}
	return mode
}

// userCursor returns the cursor that continues after u: the order, id and sort
// key. The format is the sqlite store's.
func userCursor(mode string, u *orgauth.User) string {
	key := strconv.FormatInt(millis(u.CreatedAt), 10)
	if mode[0] == 'n' {
		key = nameKey(u)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(mode + "\x00" + u.ID + "\x00" + key))
}

// parseUserCursor returns the sort key and id of a cursor of the given order.
func parseUserCursor(mode, cursor string) (key any, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, "", badCursor()
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 || parts[0] != mode || parts[1] == "" {
		return nil, "", badCursor()
	}
	if mode[0] == 'n' {
		return parts[2], parts[1], nil
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return nil, "", badCursor()
	}
	return ms, parts[1], nil
}

// emailCondition returns the SQL condition (with a leading AND) of m on the email.
// Case-insensitive matches compare email_norm, lower-cased in Go like the values.
func emailCondition(a *args, m orgauth.StringMatch) string {
	if m.IsZero() {
		return ""
	}
	if m.CaseSensitive {
		return matchCondition(a, m, []string{"email"})
	}
	m.Eq, m.Ne = orgauth.NormalizeEmail(m.Eq), orgauth.NormalizeEmail(m.Ne)
	m.Contains, m.BeginsWith = strings.ToLower(m.Contains), strings.ToLower(m.BeginsWith)
	return matchCondition(a, m, []string{"email_norm"})
}

// nameCondition returns the SQL condition (with a leading AND) of m on the first
// name, the last name or the full name.
func nameCondition(a *args, m orgauth.StringMatch) string {
	if m.IsZero() {
		return ""
	}
	if m.CaseSensitive {
		return matchCondition(a, m, []string{"first_name", "last_name",
			"trim(first_name || ' ' || last_name)"})
	}
	m.Eq, m.Ne = strings.ToLower(m.Eq), strings.ToLower(m.Ne)
	m.Contains, m.BeginsWith = strings.ToLower(m.Contains), strings.ToLower(m.BeginsWith)
	return matchCondition(a, m, []string{"lower(first_name)", "lower(last_name)", "name_norm"})
}

// matchCondition returns the SQL condition that m holds for one of cols. The last
// of cols must contain the others, so that Contains tests it alone. Values must
// already be lower-cased when the columns are. LIKE is case-sensitive in
// PostgreSQL, like the other comparisons.
func matchCondition(a *args, m orgauth.StringMatch, cols []string) string {
	var ors []string
	switch {
	case m.Eq != "" || m.Ne != "":
		v := m.Eq
		if v == "" {
			v = m.Ne
		}
		p := a.add(v)
		for _, c := range cols {
			ors = append(ors, c+" = "+p)
		}
	case m.Contains != "":
		p := a.add("%" + escapeLike(m.Contains) + "%")
		ors = []string{cols[len(cols)-1] + ` LIKE ` + p + ` ESCAPE '\'`}
	default:
		p := a.add(escapeLike(m.BeginsWith) + "%")
		for _, c := range cols {
			ors = append(ors, c+` LIKE `+p+` ESCAPE '\'`)
		}
	}
	if m.Eq == "" && m.Ne != "" {
		return " AND NOT (" + strings.Join(ors, " OR ") + ")"
	}
	return " AND (" + strings.Join(ors, " OR ") + ")"
}

// UpdateUser stores the profile and state of u.
func (tq *tenantQueries) UpdateUser(ctx context.Context, u *orgauth.User) error {
	roles, ann, labels, err := userJSON(u)
	if err != nil {
		return wrap("update user", err)
	}
	tag, err := tq.q.db.Exec(ctx, `UPDATE users SET email = $1, email_norm = $2,
		first_name = $3, last_name = $4, name_norm = $5, login_mode = $6, roles = $7,
		annotations = $8, labels = $9, activated = $10, disabled = $11, updated_at = $12
		WHERE tenant_id = $13 AND id = $14`,
		u.Email, orgauth.NormalizeEmail(u.Email), u.FirstName, u.LastName, nameKey(u),
		u.LoginMode, roles, ann, labels, u.Activated, u.Disabled, millis(u.UpdatedAt),
		tq.tenant, u.ID)
	if err != nil {
		return userWriteError("update user", err)
	}
	return mustAffect("update user", "user", tag, nil)
}

// DeleteUser removes the user; the foreign keys remove their sessions, tokens
// and API keys.
func (tq *tenantQueries) DeleteUser(ctx context.Context, id string) error {
	tag, err := tq.q.db.Exec(ctx,
		`DELETE FROM users WHERE tenant_id = $1 AND id = $2`, tq.tenant, id)
	return mustAffect("delete user", "user", tag, err)
}

// SetPassword stores a new password hash, activates the user and resets the
// login counters.
func (tq *tenantQueries) SetPassword(ctx context.Context, userID, hash string, now time.Time) error {
	return tq.q.atomically(ctx, func(db querier) error {
		tag, err := db.Exec(ctx, `UPDATE users SET password_hash = $1,
			activated = true, failed_logins = 0, locked_until = 0, password_changed_at = $2,
			updated_at = $2
			WHERE tenant_id = $3 AND id = $4`,
			hash, millis(now), tq.tenant, userID)
		if err := mustAffect("set password", "user", tag, err); err != nil {
			return err
		}
		// A link mailed before the change must not undo it.
		_, err = db.Exec(ctx, `UPDATE user_tokens SET used_at = $1
			WHERE tenant_id = $2 AND user_id = $3 AND used_at = 0`, millis(now), tq.tenant, userID)
		return wrap("set password", err)
	})
}

// ReserveLoginAttempt counts one login attempt in a single UPDATE, which only
// matches while the user is not locked. Under concurrent attempts PostgreSQL
// re-evaluates the WHERE clause and the new values on the row as the previous
// attempt left it, so exactly max attempts pass before the lock. The first
// attempt after a lock expired starts counting again at 1. A max below 1 turns
// the lock off.
func (tq *tenantQueries) ReserveLoginAttempt(ctx context.Context, userID string, max int, lock time.Duration, now time.Time) (bool, error) {
	if max < 1 {
		max = math.MaxInt32
	}
	const next = `(CASE WHEN locked_until <> 0 THEN 1 ELSE failed_logins + 1 END)`
	var reserved, exists bool
	err := tq.q.db.QueryRow(ctx, `WITH attempt AS (
			UPDATE users SET failed_logins = `+next+`,
				locked_until = CASE WHEN `+next+` >= $1::integer THEN $2::bigint ELSE 0 END
			WHERE tenant_id = $3 AND id = $4 AND locked_until <= $5::bigint
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM attempt),
			EXISTS (SELECT 1 FROM users WHERE tenant_id = $3 AND id = $4)`,
		max, millis(now.Add(lock)), tq.tenant, userID, millis(now)).Scan(&reserved, &exists)
	if err != nil {
		return false, wrap("reserve login attempt", err)
	}
	if !reserved && !exists {
		return false, notFound("user")
	}
	return reserved, nil
}

// PasswordLoginSucceeded admits a sign-in whose password matched unless the
// account is locked, in one round trip.
func (tq *tenantQueries) PasswordLoginSucceeded(ctx context.Context, userID string, now time.Time) (bool, error) {
	var admitted, exists bool
	err := tq.q.db.QueryRow(ctx, `WITH success AS (
			UPDATE users SET failed_logins = 0, locked_until = 0, last_sign_in = $1::bigint
			WHERE tenant_id = $2 AND id = $3 AND locked_until <= $1::bigint
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM success),
			EXISTS (SELECT 1 FROM users WHERE tenant_id = $2 AND id = $3)`,
		millis(now), tq.tenant, userID).Scan(&admitted, &exists)
	if err != nil {
		return false, wrap("password login succeeded", err)
	}
	if !admitted && !exists {
		return false, notFound("user")
	}
	return admitted, nil
}

// LoginSucceeded resets the failure counter and lock and records the sign-in.
func (tq *tenantQueries) LoginSucceeded(ctx context.Context, userID string, now time.Time) error {
	tag, err := tq.q.db.Exec(ctx, `UPDATE users SET failed_logins = 0,
		locked_until = 0, last_sign_in = $1
		WHERE tenant_id = $2 AND id = $3`, millis(now), tq.tenant, userID)
	return mustAffect("login succeeded", "user", tag, err)
}
