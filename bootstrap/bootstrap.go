// Package bootstrap makes a fresh deployment usable: the system tenant and its
// first administrator. No default credentials exist: the operator gives the
// password, or the caller generates one and shows it once.
package bootstrap

import (
	"context"
	"fmt"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/password"
)

// SystemOrg is the name of the operator's own tenant, home of system admins.
const SystemOrg = "system"

// Run creates the system tenant and its administrator with email and pw, unless
// the system tenant exists already; it reports whether it created them.
func Run(ctx context.Context, db orgauth.Store, hasher *password.Hasher, email, pw string, now time.Time) (bool, error) {
	if _, err := db.TenantByName(ctx, SystemOrg); err == nil {
		return false, nil
	} else if orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		return false, err
	}
	if err := orgauth.DefaultPasswordPolicy.Check(pw); err != nil {
		return false, fmt.Errorf("administrator password: %s", orgauth.ErrorMessage(err))
	}
	hash, err := hasher.Hash(ctx, pw)
	if err != nil {
		return false, err
	}
	t := &orgauth.Tenant{
		ID: orgauth.NewID(), Name: SystemOrg, System: true, Email: email, AuthType: "password",
		LoginMode: "devops", Active: true, TokenExpiryMinutes: 15, CreatedAt: now, UpdatedAt: now,
	}
	admin := &orgauth.User{
		ID: orgauth.NewID(), TenantID: t.ID, Email: email, FirstName: "System", LastName: "Admin",
		LoginMode: "devops", Roles: []string{orgauth.RoleSystemAdmin}, CreatedAt: now, UpdatedAt: now,
	}
	err = db.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		tq := tx.InTenant(t.ID)
		if err := tq.CreateUser(ctx, admin); err != nil {
			return err
		}
		if err := tq.SetPassword(ctx, admin.ID, hash, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &orgauth.AuditRecord{
			ID: orgauth.NewID(), TenantID: t.ID, Action: "bootstrap", Target: admin.ID,
			Outcome: "success", CreatedAt: now,
		})
	})
	if orgauth.ErrorCode(err) == orgauth.ECONFLICT {
		return false, nil // another instance starting at the same time made it
	}
	if err != nil {
		return false, fmt.Errorf("creating the first administrator: %w", err)
	}
	return true, nil
}
