package orgauth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

func TestPasswordPolicyNamesEveryBrokenRule(t *testing.T) {
	p := orgauth.DefaultPasswordPolicy
	err := p.Check("abc")
	if err == nil {
		t.Fatal("weak password accepted")
	}
	msg := orgauth.ErrorMessage(err)
	for _, rule := range []string{"at least 6 characters", "upper-case", "digit", "special"} {
		if !strings.Contains(msg, rule) {
			t.Errorf("message %q does not name %q", msg, rule)
		}
	}
	if strings.Contains(msg, "lower-case") {
		t.Errorf("message %q names a rule the password keeps", msg)
	}
	if err := p.Check("Str0ng-enough"); err != nil {
		t.Errorf("good password refused: %v", err)
	}
	long := strings.Repeat("aA1!", 32) // 128 characters
	if err := p.Check(long); err != nil {
		t.Errorf("128-character password refused: %v", err)
	}
	if err := p.Check(long + "x"); err == nil {
		t.Error("129-character password accepted")
	}
	if orgauth.ErrorCode(p.Check("\xff")) != orgauth.EINVALID {
		t.Error("invalid UTF-8 accepted")
	}
}

func TestRoleCoverage(t *testing.T) {
	admin, _ := orgauth.BuiltinRole(orgauth.RoleTenantAdmin)
	viewer, _ := orgauth.BuiltinRole("Tenant Viewer")
	sys, _ := orgauth.BuiltinRole(orgauth.RoleSystemAdmin)
	if !viewer.Has(orgauth.PermUserGet) || viewer.Has(orgauth.PermUserCreate) {
		t.Error("viewer permissions wrong")
	}
	if !admin.Has(orgauth.PermAPIKeyDelete) || admin.Has(orgauth.PermTenantCreate) {
		t.Error("tenant admin permissions wrong")
	}
	if !orgauth.Covers([]*orgauth.Role{admin}, viewer) {
		t.Error("a tenant admin may grant viewer")
	}
	if orgauth.Covers([]*orgauth.Role{viewer}, admin) {
		t.Error("a viewer may not grant tenant admin")
	}
	if orgauth.Covers([]*orgauth.Role{admin}, sys) || !orgauth.Covers([]*orgauth.Role{sys}, admin) {
		t.Error("system admin coverage wrong")
	}
}

// TestPageDueReminders pages through a system part and 250 tenant parts (more
// than one batch of policies), some of them empty, and gets every user once,
// in order, with TenantPolicy set for the tenant parts.
func TestPageDueReminders(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	user := func(tenant string, i int) *orgauth.PasswordReminder {
		return &orgauth.PasswordReminder{TenantID: tenant, UserID: fmt.Sprintf("%s-u%03d", tenant, i),
			PasswordChangedAt: at.Add(time.Duration(i%3) * time.Hour)}
	}
	byPlace := func(a, b *orgauth.PasswordReminder) int {
		if c := a.PasswordChangedAt.Compare(b.PasswordChangedAt); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	}
	var sysUsers []*orgauth.PasswordReminder
	for i := range 7 {
		sysUsers = append(sysUsers, user("sys", i))
	}
	slices.SortFunc(sysUsers, byPlace)
	var policies []orgauth.ReminderPolicy
	tenantUsers := map[string][]*orgauth.PasswordReminder{}
	want := slices.Clone(sysUsers)
	for i := range 250 {
		id := fmt.Sprintf("t%03d", i)
		policies = append(policies, orgauth.ReminderPolicy{TenantID: id})
		for j := range i % 4 { // every fourth tenant has no one due
			tenantUsers[id] = append(tenantUsers[id], user(id, j))
		}
		slices.SortFunc(tenantUsers[id], byPlace)
		want = append(want, tenantUsers[id]...)
	}
	from := func(list []*orgauth.PasswordReminder, start orgauth.ReminderStart, limit int) []*orgauth.PasswordReminder {
		after := &orgauth.PasswordReminder{PasswordChangedAt: start.PasswordChangedAt, UserID: start.UserID}
		i := 0
		for i < len(list) && byPlace(list[i], after) <= 0 {
			i++
		}
		list = list[i:]
		var out []*orgauth.PasswordReminder
		for _, r := range list[:min(len(list), limit)] {
			c := *r
			out = append(out, &c)
		}
		return out
	}
	sys := orgauth.DefaultPasswordPolicy
	now := at.Add(-time.Hour) // every window opens before the first password
	sysOpen := now.Add(-365 * 24 * time.Hour)
	for _, limit := range []int{1, 2, 3, 7, 50, 1000} {
		var got []*orgauth.PasswordReminder
		var after *orgauth.PasswordReminder
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, err := orgauth.PageDueReminders(&sys, now, after, limit,
				func(start string, n int) ([]orgauth.ReminderPolicy, error) {
					i, _ := slices.BinarySearchFunc(policies, start, func(p orgauth.ReminderPolicy, id string) int {
						return strings.Compare(p.TenantID, id)
					})
					return policies[i:min(len(policies), i+n)], nil
				},
				func(p orgauth.ReminderPolicy, start orgauth.ReminderStart, limit int) ([]*orgauth.PasswordReminder, error) {
					// A part starts where its window opens (tenants here have
					// ExpiryDays 0: at now), or after after.
					open := now
					if p.TenantID == "" {
						if p.ExpiryDays != sys.ExpiryDays || p.FirstReminderDays != sys.FirstReminderDays {
							t.Fatalf("system part read with %+v", p)
						}
						open = sysOpen
					}
					if start.UserID == "" && !start.PasswordChangedAt.Equal(open) {
						t.Fatalf("part %q starts at %v, want %v", p.TenantID, start.PasswordChangedAt, open)
					}
					if p.TenantID == "" {
						return from(sysUsers, start, limit), nil
					}
					return from(tenantUsers[p.TenantID], start, limit), nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			got = append(got, page...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1]
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d users, want %d", limit, len(got), len(want))
		}
		for i, r := range got {
			if r.UserID != want[i].UserID || r.TenantPolicy != (r.TenantID != "sys") {
				t.Fatalf("limit %d: #%d is %s (tenant policy %v), want %s", limit, i, r.UserID, r.TenantPolicy, want[i].UserID)
			}
		}
	}
	if page, err := orgauth.PageDueReminders(&sys, now, nil, 0, nil, nil); page != nil || err != nil {
		t.Fatalf("limit 0: %v, %v", page, err)
	}
}
