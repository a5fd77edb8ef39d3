package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
)

// userColumns are the columns scanUser reads, in order.
const userColumns = `id, tenant_id, email, first_name, last_name, login_mode, roles,
	annotations, labels, activated, disabled, password_hash, failed_logins,
	locked_until, last_sign_in, password_changed_at, created_at, updated_at`

// scanUser reads a row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (*orgauth.User, error) {
	u := new(orgauth.User)
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.FirstName, &u.LastName, &u.LoginMode,
		jsonCol{&u.Roles}, jsonCol{&u.Annotations}, jsonCol{&u.Labels}, &u.Activated,
		&u.Disabled, &u.PasswordHash, &u.FailedLogins, msTime{&u.LockedUntil},
		msTime{&u.LastSignIn}, msTime{&u.PasswordChangedAt}, msTime{&u.CreatedAt},
		msTime{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// scanUsers reads every row of userColumns.
func scanUsers(rows *sql.Rows, err error) ([]*orgauth.User, error) {
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
func userJSON(u *orgauth.User) (roles, ann, labels string, err error) {
	if roles, err = jsonText(u.Roles); err != nil {
		return
	}
	if ann, err = jsonText(u.Annotations); err != nil {
		return
	}
	labels, err = jsonText(u.Labels)
	return
}

// userWriteError maps the constraint errors of a user insert or update.
func userWriteError(op string, err error) error {
	switch {
	case isUnique(err) && strings.Contains(err.Error(), "users.email_norm"):
		return orgauth.Errorf(orgauth.ECONFLICT, "a user with this email already exists")
	case isUnique(err):
		return orgauth.Errorf(orgauth.ECONFLICT, "the user already exists")
	case isForeignKey(err):
		return notFound("tenant")
	}
	return wrap(op, err)
}

// insertUser is the statement that inserts one user.
const insertUser = `INSERT INTO users (` + userColumns + `, email_norm, name_norm)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// userArgs returns the arguments of insertUser for u.
func userArgs(u *orgauth.User) ([]any, error) {
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
	args, err := userArgs(u)
	if err != nil {
		return wrap("create user", err)
	}
	_, err = tq.q.write.ExecContext(ctx, insertUser, args...)
	return userWriteError("create user", err)
}

// BulkCreateUsers inserts users into the tenant in one transaction with one
// prepared statement, giving an id to those without. It is meant for seeding and
// imports: one duplicate email fails the whole batch.
func (db *DB) BulkCreateUsers(ctx context.Context, tenantID string, users []*orgauth.User) error {
	return transact(ctx, db.write, func(tx *sql.Tx) error {
		// Checking the tenant once and deferring the foreign keys to the commit
		// spares every insert a statement journal.
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE id = ?`, tenantID).Scan(&n)
		if err != nil {
			return wrap("bulk create users", err)
		}
		if n == 0 {
			return notFound("tenant")
		}
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return wrap("bulk create users", err)
		}
		stmt, err := tx.PrepareContext(ctx, insertUser)
		if err != nil {
			return wrap("bulk create users", err)
		}
		defer stmt.Close()
		for _, u := range users {
			u.TenantID = tenantID
			if u.ID == "" {
				u.ID = orgauth.NewID()
			}
			args, err := userArgs(u)
			if err != nil {
				return wrap("bulk create users", err)
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return userWriteError("bulk create users", err)
			}
		}
		return nil
	})
}

// user returns the user of a single-row query.
func (tq *tenantQueries) user(ctx context.Context, where string, arg any) (*orgauth.User, error) {
	row := tq.q.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE tenant_id = ? AND `+where, tq.tenant, arg)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, wrap("get user", err)
}

// User returns the user with the given id.
func (tq *tenantQueries) User(ctx context.Context, id string) (*orgauth.User, error) {
	return tq.user(ctx, `id = ?`, id)
}

// UserByEmail returns the user with the given email, compared normalized.
func (tq *tenantQueries) UserByEmail(ctx context.Context, email string) (*orgauth.User, error) {
	return tq.user(ctx, `email_norm = ?`, orgauth.NormalizeEmail(email))
}

// UsersByEmail returns the users with this email in every tenant, oldest first.
func (q *queries) UsersByEmail(ctx context.Context, email string) ([]*orgauth.User, error) {
	list, err := scanUsers(q.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE email_norm = ? ORDER BY created_at, id`, orgauth.NormalizeEmail(email)))
	return list, wrap("users by email", err)
}

// CountUsers counts the users of the tenant.
func (tq *tenantQueries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := tq.q.read.QueryRowContext(ctx,
		`SELECT count(*) FROM users WHERE tenant_id = ?`, tq.tenant).Scan(&n)
	return n, wrap("count users", err)
}

// ListUsers returns a page of the users matching f, with keyset pagination on
// (created_at, id) or (name_norm, id).
func (tq *tenantQueries) ListUsers(ctx context.Context, f orgauth.UserFilter) ([]*orgauth.User, string, error) {
	mode := userCursorMode(f)
	query := `SELECT ` + userColumns + ` FROM users WHERE tenant_id = ?`
	args := []any{tq.tenant}
	cond, cargs := emailCondition(f.Email)
	query, args = query+cond, append(args, cargs...)
	cond, cargs = nameCondition(f.Name)
	query, args = query+cond, append(args, cargs...)

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
		query += ` AND (` + sortCol + `, id) ` + cmp + ` (?, ?)`
		args = append(args, key, id)
	}
	n := limit(f.Limit)
	query += ` ORDER BY ` + sortCol + order + `, id` + order + ` LIMIT ?`
	args = append(args, n+1)

	list, err := scanUsers(tq.q.read.QueryContext(ctx, query, args...))
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

// userCursor returns the cursor that continues after u: the order, id and sort key.
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
func emailCondition(m orgauth.StringMatch) (string, []any) {
	if m.IsZero() {
		return "", nil
	}
	if m.CaseSensitive {
		return matchCondition(m, []string{"email"})
	}
	m.Eq, m.Ne = orgauth.NormalizeEmail(m.Eq), orgauth.NormalizeEmail(m.Ne)
	m.Contains, m.BeginsWith = strings.ToLower(m.Contains), strings.ToLower(m.BeginsWith)
	return matchCondition(m, []string{"email_norm"})
}

// nameCondition returns the SQL condition (with a leading AND) of m on the first
// name, the last name or the full name.
func nameCondition(m orgauth.StringMatch) (string, []any) {
	if m.IsZero() {
		return "", nil
	}
	if m.CaseSensitive {
		return matchCondition(m, []string{"first_name", "last_name",
			"trim(first_name || ' ' || last_name)"})
	}
	m.Eq, m.Ne = strings.ToLower(m.Eq), strings.ToLower(m.Ne)
	m.Contains, m.BeginsWith = strings.ToLower(m.Contains), strings.ToLower(m.BeginsWith)
	return matchCondition(m, []string{"lower(first_name)", "lower(last_name)", "name_norm"})
}

// matchCondition returns the SQL condition that m holds for one of cols. The last
// of cols must contain the others, so that Contains tests it alone. Values must
// already be lower-cased when the columns are.
func matchCondition(m orgauth.StringMatch, cols []string) (string, []any) {
	var ors []string
	var args []any
	switch {
	case m.Eq != "" || m.Ne != "":
		v := m.Eq
		if v == "" {
			v = m.Ne
		}
		for _, c := range cols {
			ors = append(ors, c+" = ?")
			args = append(args, v)
		}
	case m.Contains != "" && m.CaseSensitive:
		// LIKE ignores ASCII case in SQLite.
		ors, args = []string{"instr(" + cols[len(cols)-1] + ", ?) > 0"}, []any{m.Contains}
	case m.Contains != "":
		ors = []string{cols[len(cols)-1] + ` LIKE ? ESCAPE '\'`}
		args = []any{"%" + escapeLike(m.Contains) + "%"}
	case m.CaseSensitive:
		for _, c := range cols {
			ors = append(ors, "substr("+c+", 1, ?) = ?")
			args = append(args, len([]rune(m.BeginsWith)), m.BeginsWith)
		}
	default:
		for _, c := range cols {
			ors = append(ors, c+` LIKE ? ESCAPE '\'`)
			args = append(args, escapeLike(m.BeginsWith)+"%")
		}
	}
	cond := " AND (" + strings.Join(ors, " OR ") + ")"
	if m.Eq == "" && m.Ne != "" {
		cond = " AND NOT (" + strings.Join(ors, " OR ") + ")"
	}
	return cond, args
}

// UpdateUser stores the profile and state of u.
func (tq *tenantQueries) UpdateUser(ctx context.Context, u *orgauth.User) error {
	roles, ann, labels, err := userJSON(u)
	if err != nil {
		return wrap("update user", err)
	}
	res, err := tq.q.write.ExecContext(ctx, `UPDATE users SET email = ?, email_norm = ?,
		first_name = ?, last_name = ?, name_norm = ?, login_mode = ?, roles = ?,
		annotations = ?, labels = ?, activated = ?, disabled = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		u.Email, orgauth.NormalizeEmail(u.Email), u.FirstName, u.LastName, nameKey(u),
		u.LoginMode, roles, ann, labels, u.Activated, u.Disabled, millis(u.UpdatedAt),
		tq.tenant, u.ID)
	if err != nil {
		return userWriteError("update user", err)
	}
	return mustAffect("update user", "user", res, nil)
}

// DeleteUser removes the user; the foreign keys remove their sessions, tokens
// and API keys.
func (tq *tenantQueries) DeleteUser(ctx context.Context, id string) error {
	res, err := tq.q.write.ExecContext(ctx,
		`DELETE FROM users WHERE tenant_id = ? AND id = ?`, tq.tenant, id)
	return mustAffect("delete user", "user", res, err)
}

// SetPassword stores a new password hash, activates the user and resets the
// login counters.
func (tq *tenantQueries) SetPassword(ctx context.Context, userID, hash string, now time.Time) error {
	return tq.q.atomically(ctx, func(w runner) error {
		res, err := w.ExecContext(ctx, `UPDATE users SET password_hash = ?,
			activated = 1, failed_logins = 0, locked_until = 0, password_changed_at = ?,
			updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			hash, millis(now), millis(now), tq.tenant, userID)
		if err := mustAffect("set password", "user", res, err); err != nil {
			return err
		}
		// A link mailed before the change must not undo it.
		_, err = w.ExecContext(ctx, `UPDATE user_tokens SET used_at = ?
			WHERE tenant_id = ? AND user_id = ? AND used_at = 0`, millis(now), tq.tenant, userID)
		return wrap("set password", err)
	})
}

// ReserveLoginAttempt counts one login attempt in a single UPDATE, which only
// matches while the user is not locked. The first attempt after a lock expired
// starts counting again at 1. A max below 1 turns the lock off.
func (tq *tenantQueries) ReserveLoginAttempt(ctx context.Context, userID string, max int, lock time.Duration, now time.Time) (bool, error) {
	if max < 1 {
		max = math.MaxInt32
	}
	const next = `(CASE WHEN locked_until <> 0 THEN 1 ELSE failed_logins + 1 END)`
	var ok bool
	err := tq.q.atomically(ctx, func(w runner) error {
		res, err := w.ExecContext(ctx, `UPDATE users SET failed_logins = `+next+`,
			locked_until = CASE WHEN `+next+` >= ? THEN ? ELSE 0 END
			WHERE tenant_id = ? AND id = ? AND locked_until <= ?`,
			max, millis(now.Add(lock)), tq.tenant, userID, millis(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			ok = n == 1
			return err
		}
		var exists int
		err = w.QueryRowContext(ctx, `SELECT count(*) FROM users
			WHERE tenant_id = ? AND id = ?`, tq.tenant, userID).Scan(&exists)
		if err == nil && exists == 0 {
			return notFound("user")
		}
		return err
	})
	if orgauth.ErrorCode(err) == orgauth.ENOTFOUND {
		return false, err
	}
	return ok, wrap("reserve login attempt", err)
}

// PasswordLoginSucceeded admits a sign-in whose password matched unless the
// account is locked, in one statement.
func (tq *tenantQueries) PasswordLoginSucceeded(ctx context.Context, userID string, now time.Time) (bool, error) {
	res, err := tq.q.write.ExecContext(ctx, `UPDATE users SET failed_logins = 0,
		locked_until = 0, last_sign_in = ?
		WHERE tenant_id = ? AND id = ? AND locked_until <= ?`, millis(now), tq.tenant, userID, millis(now))
	if err != nil {
		return false, wrap("password login succeeded", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, wrap("password login succeeded", err)
	}
	var exists int
	err = tq.q.write.QueryRowContext(ctx, `SELECT count(*) FROM users
		WHERE tenant_id = ? AND id = ?`, tq.tenant, userID).Scan(&exists)
	if err == nil && exists == 0 {
		return false, notFound("user")
	}
	return false, wrap("password login succeeded", err)
}

// LoginSucceeded resets the failure counter and lock and records the sign-in.
func (tq *tenantQueries) LoginSucceeded(ctx context.Context, userID string, now time.Time) error {
	res, err := tq.q.write.ExecContext(ctx, `UPDATE users SET failed_logins = 0,
		locked_until = 0, last_sign_in = ?
		WHERE tenant_id = ? AND id = ?`, millis(now), tq.tenant, userID)
	return mustAffect("login succeeded", "user", res, err)
}
