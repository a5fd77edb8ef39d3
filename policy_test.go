package orgauth_test

import (
	"strings"
	"testing"

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
