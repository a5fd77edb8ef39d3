package http

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/token"
)

// toV1User renders u; link is the pending activation link shown to admins.
func toV1User(u *orgauth.User, link string) v1User {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return v1User{
		Metadata: v1ObjectMeta{
			UID: u.ID, Name: u.Name(), Annotations: u.Annotations, Labels: u.Labels,
			CreationTimestamp: v1Time(u.CreatedAt), LastModifiedTimestamp: v1Time(u.UpdatedAt),
		},
		Spec:   v1UserSpec{EmailID: u.Email, FirstName: u.FirstName, LastName: u.LastName, Roles: roles},
		Status: v1UserStatus{ActivationLink: link, IsActive: u.Active(), LastSignIn: v1Time(u.LastSignIn)},
	}
}

// pendingLink returns the activation link of a user who has not activated yet,
// for callers who could have invited that user (user.create, and every permission
// the user will hold); "" otherwise. The link is a live credential.
func (s *Server) pendingLink(ctx context.Context, p *principal, u *orgauth.User) (string, error) {
	if u.Activated || p.SelfOnly || !p.has(orgauth.PermUserCreate) {
		return "", nil
	}
	if err := mayManage(ctx, s.store.InTenant(u.TenantID), p, u); isForbidden(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	t, err := s.store.InTenant(u.TenantID).LatestUserToken(ctx, u.ID, orgauth.PurposeActivation, s.cfg.Now())
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return s.link("/activate", token.UserTokenSecret(s.masterKey, orgauth.PurposeActivation, t.ID)), nil
}

// listMeta is the pagination block of a list answer.
func listMeta(p orgauth.Page, n int, next string) *v1ListMetaData {
	return &v1ListMetaData{Continue: next, Count: n, Limit: p.Limit}
}

func (s *Server) usersList(w http.ResponseWriter, r *http.Request) error {
	if err := noFilters(r); err != nil {
		return err
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	users, next, err := s.store.InTenant(p.Tenant.ID).ListUsers(r.Context(), orgauth.UserFilter{Page: pg})
	if err != nil {
		return err
	}
	out := v1Users{Items: make([]v1User, 0, len(users)), Listmeta: listMeta(pg, len(users), next)}
	for _, u := range users {
		link, err := s.pendingLink(r.Context(), p, u)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, toV1User(u, link))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) usersMeta(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	users, next, err := s.store.InTenant(p.Tenant.ID).ListUsers(r.Context(), orgauth.UserFilter{Page: pg})
	if err != nil {
		return err
	}
	out := v1UsersMetadata{Items: make([]v1UserMetaEntity, 0, len(users)), Listmeta: listMeta(pg, len(users), next)}
	for _, u := range users {
		out.Items = append(out.Items, v1UserMetaEntity{UID: u.ID, Name: u.Name(), EmailID: u.Email})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// usersSummary lists users filtered by email and name, sorted by name or creation.
func (s *Server) usersSummary(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	var in v1UsersSummarySpec
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	f := orgauth.UserFilter{Page: pg}
	if in.Filter != nil {
		if f.Email, err = stringMatch("filter.emailId", in.Filter.EmailID); err != nil {
			return err
		}
		if f.Name, err = stringMatch("filter.name", in.Filter.Name); err != nil {
			return err
		}
	}
	if len(in.Sort) > 1 {
		return orgauth.Errorf(orgauth.EINVALID, "sort takes at most one field")
	}
	for _, so := range in.Sort {
		if so.Field != nil {
			switch *so.Field {
			case "name":
				f.SortByName = true
			case "creationTimestamp":
			default:
				return orgauth.Errorf(orgauth.EINVALID, "sort field must be name or creationTimestamp")
			}
		}
		switch so.Order {
		case "", "asc":
		case "desc":
			f.Desc = true
		default:
			return orgauth.Errorf(orgauth.EINVALID, "sort order must be asc or desc")
		}
	}
	p := principalFrom(r.Context())
	tq := s.store.InTenant(p.Tenant.ID)
	users, next, err := tq.ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	out := v1UsersSummaryList{Items: make([]v1UserSummary, 0, len(users)), Listmeta: listMeta(pg, len(users), next)}
	for _, u := range users {
		roles := make([]v1UidSummary, 0, len(u.Roles))
		for _, id := range u.Roles {
			role, err := resolveRole(r.Context(), tq, p.Tenant, id)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			roles = append(roles, v1UidSummary{UID: role.ID, Name: role.Name})
		}
		teams, err := tq.UserTeams(r.Context(), u.ID)
		if err != nil {
			return err
		}
		teamRefs := make([]v1UidSummary, 0, len(teams))
		for _, t := range teams {
			teamRefs = append(teamRefs, v1UidSummary{UID: t.ID, Name: t.Name})
		}
		out.Items = append(out.Items, v1UserSummary{
			Metadata: v1ObjectMeta{UID: u.ID, Name: u.Name(), CreationTimestamp: v1Time(u.CreatedAt), LastModifiedTimestamp: v1Time(u.UpdatedAt)},
			Spec:     v1UserSpecSummary{EmailID: u.Email, FirstName: u.FirstName, LastName: u.LastName, Roles: roles, Teams: teamRefs},
			Status:   v1UserStatus{IsActive: u.Active(), LastSignIn: v1Time(u.LastSignIn)},
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// stringMatch turns a spec filter into a StringMatch; at most one condition.
func stringMatch(field string, f *v1FilterString) (orgauth.StringMatch, error) {
	var m orgauth.StringMatch
	if f == nil {
		return m, nil
	}
	n := 0
	for _, c := range []struct {
		v   *string
		dst *string
	}{{f.Eq, &m.Eq}, {f.Ne, &m.Ne}, {f.Contains, &m.Contains}, {f.BeginsWith, &m.BeginsWith}} {
		if c.v != nil && *c.v != "" {
			if len(*c.v) > 254 {
				return m, orgauth.Errorf(orgauth.EINVALID, "%s is too long", field)
			}
			*c.dst = *c.v
			n++
		}
	}
	if n > 1 {
		return m, orgauth.Errorf(orgauth.EINVALID, "%s takes one of eq, ne, contains, beginsWith", field)
	}
	m.CaseSensitive = f.IgnoreCase != nil && !*f.IgnoreCase
	return m, nil
}

func (s *Server) usersCreate(w http.ResponseWriter, r *http.Request) error {
	var in v1UserEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Spec == nil {
		return orgauth.Errorf(orgauth.EINVALID, "spec is required")
	}
	p := principalFrom(r.Context())
	email, err := validEmail("spec.emailId", in.Spec.EmailID)
	if err != nil {
		return err
	}
	first, err := validName("spec.firstName", in.Spec.FirstName, true)
	if err != nil {
		return err
	}
	last, err := validName("spec.lastName", in.Spec.LastName, false)
	if err != nil {
		return err
	}
	mode, err := validLoginMode(in.Spec.LoginMode)
	if err != nil {
		return err
	}
	var meta v1ObjectMeta
	if in.Metadata != nil {
		meta = *in.Metadata
	}
	if err := validMap("metadata.annotations", meta.Annotations); err != nil {
		return err
	}
	if err := validMap("metadata.labels", meta.Labels); err != nil {
		return err
	}
	now := s.cfg.Now()
	u := &orgauth.User{
		ID: orgauth.NewID(), TenantID: p.Tenant.ID, Email: email, FirstName: first, LastName: last,
		LoginMode: mode, Annotations: meta.Annotations, Labels: meta.Labels,
		CreatedAt: now, UpdatedAt: now,
	}
	err = s.write(w, r, p.Tenant.ID, u.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		if u.Roles, err = grantable(r.Context(), tq, p, "spec.roles", in.Spec.Roles); err != nil {
			return err
		}
		if err := tq.CreateUser(r.Context(), u); err != nil {
			return err
		}
		if len(in.Spec.Teams) > 0 {
			if err := setTeams(r.Context(), tq, p, u, "spec.teams", in.Spec.Teams); err != nil {
				return err
			}
		}
		return s.invite(r.Context(), tx, p.Tenant, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1Uid{UID: u.ID})
	return nil
}

// targetUser loads the user of the path in the caller's tenant, refusing callers
// that may act only on themselves.
func (s *Server) targetUser(ctx context.Context, tq orgauth.TenantQueries, uid string) (*orgauth.User, error) {
	p := principalFrom(ctx)
	if !p.mayActOn(uid) {
		return nil, orgauth.Errorf(orgauth.EFORBIDDEN, "you may only act on your own account")
	}
	u, err := tq.User(ctx, uid)
	if isNotFound(err) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "user not found")
	}
	return u, err
}

func (s *Server) usersGet(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	u, err := s.targetUser(r.Context(), s.store.InTenant(p.Tenant.ID), r.PathValue("uid"))
	if err != nil {
		return err
	}
	link, err := s.pendingLink(r.Context(), p, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toV1User(u, link))
	return nil
}

// updateUser applies change to the user of the path in one audited write; when the
// change disables the user their sessions end with it.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, change func(tq orgauth.TenantQueries, u *orgauth.User) error) error {
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	var ended []string
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		u, err := s.targetUser(r.Context(), tq, uid)
		if err != nil {
			return err
		}
		if err := mayManage(r.Context(), tq, p, u); err != nil {
			return err
		}
		wasDisabled, oldEmail, oldRoles := u.Disabled, u.Email, slices.Clone(u.Roles)
		var oldTeams []string
		if !u.Activated {
			if oldTeams, err = userTeamIDs(r.Context(), tq, u.ID); err != nil {
				return err
			}
		}
		if err := change(tq, u); err != nil {
			return err
		}
		u.UpdatedAt = s.cfg.Now()
		if err := tq.UpdateUser(r.Context(), u); err != nil {
			return err
		}
		if u.Disabled && !wasDisabled {
			if ended, err = tq.RevokeUserSessions(r.Context(), u.ID, "", s.cfg.Now()); err != nil {
				return err
			}
		}
		if !u.Activated {
			teams, err := userTeamIDs(r.Context(), tq, u.ID)
			if err != nil {
				return err
			}
			// The old address must not keep a way in, and a link someone saw
			// before the account was given more must not open it: a new link
			// supersedes the old.
			if u.Email != oldEmail || !slices.Equal(oldRoles, u.Roles) || !slices.Equal(oldTeams, teams) {
				err = s.invite(r.Context(), tx, p.Tenant, u)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	s.forgetUser(r.Context(), p.Tenant.ID, uid)
	s.forgetSessions(r.Context(), ended...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) usersUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1UserUpdateEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	return s.updateUser(w, r, func(tq orgauth.TenantQueries, u *orgauth.User) error {
		if in.Spec != nil {
			sp := in.Spec
			if sp.FirstName != nil {
				if err := setName(&u.FirstName, "spec.firstName", *sp.FirstName, true); err != nil {
					return err
				}
			}
			if sp.LastName != nil {
				if err := setName(&u.LastName, "spec.lastName", *sp.LastName, false); err != nil {
					return err
				}
			}
			if sp.EmailID != nil && *sp.EmailID != u.Email {
				if p.SelfOnly {
					return orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required to change an email", orgauth.PermUserUpdate)
				}
				email, err := validEmail("spec.emailId", *sp.EmailID)
				if err != nil {
					return err
				}
				u.Email = email
			}
			if sp.Roles != nil {
				if err := setRoles(r.Context(), tq, p, u, sp.Roles); err != nil {
					return err
				}
			}
			if sp.Teams != nil {
				if err := setTeams(r.Context(), tq, p, u, "spec.teams", sp.Teams); err != nil {
					return err
				}
			}
		}
		if in.Metadata != nil && (in.Metadata.Annotations != nil || in.Metadata.Labels != nil) {
			if p.SelfOnly {
				return orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required to change annotations or labels", orgauth.PermUserUpdate)
			}
			if in.Metadata.Annotations != nil {
				if err := validMap("metadata.annotations", in.Metadata.Annotations); err != nil {
					return err
				}
				u.Annotations = in.Metadata.Annotations
			}
			if in.Metadata.Labels != nil {
				if err := validMap("metadata.labels", in.Metadata.Labels); err != nil {
					return err
				}
				u.Labels = in.Metadata.Labels
			}
		}
		return nil
	})
}

func setName(dst *string, field, v string, required bool) error {
	n, err := validName(field, v, required)
	if err == nil {
		*dst = n
	}
	return err
}

// setRoles replaces the roles of u, if the caller may: no one changes their own roles
// or grants a role they could not hold.
func setRoles(ctx context.Context, tq orgauth.TenantQueries, p *principal, u *orgauth.User, ids []string) error {
	if p.SelfOnly || u.ID == p.User.ID {
		return orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot change your own roles")
	}
	roles, err := grantable(ctx, tq, p, "roles", ids)
	if err != nil {
		return err
	}
	if err := mayRevoke(ctx, tq, p, u.Roles); err != nil {
		return err
	}
	u.Roles = roles
	return nil
}

// usersPatch applies a JSON patch to a user. Supported paths: /spec/firstName,
// /spec/lastName (also for oneself), /spec/emailId, /spec/roles,
// /metadata/annotations, /metadata/labels and /status/isActive (with user.update).
func (s *Server) usersPatch(w http.ResponseWriter, r *http.Request) error {
	var ops []v1HttpPatch
	if err := decode(r, &ops); err != nil {
		return err
	}
	if len(ops) == 0 || len(ops) > 32 {
		return orgauth.Errorf(orgauth.EINVALID, "a patch has 1 to 32 operations")
	}
	p := principalFrom(r.Context())
	return s.updateUser(w, r, func(tq orgauth.TenantQueries, u *orgauth.User) error {
		for i, op := range ops {
			if err := applyUserPatch(r.Context(), tq, p, u, op); err != nil {
				if e, ok := err.(*orgauth.Error); ok {
					e2 := *e
					e2.Message = "operation " + strconv.Itoa(i) + ": " + e.Message
					return &e2
				}
				return err
			}
		}
		return nil
	})
}

func applyUserPatch(ctx context.Context, tq orgauth.TenantQueries, p *principal, u *orgauth.User, op v1HttpPatch) error {
	var remove bool
	switch op.Op {
	case "add", "replace":
	case "remove":
		remove = true
	default:
		return orgauth.Errorf(orgauth.EINVALID, "op must be add, replace or remove")
	}
	str := func() (string, error) {
		var v string
		if remove {
			return "", nil
		}
		if err := json.Unmarshal(op.Value, &v); err != nil {
			return "", orgauth.Errorf(orgauth.EINVALID, "value of %s must be a string", op.Path)
		}
		return v, nil
	}
	needPerm := func() error {
		if p.SelfOnly {
			return orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required to change %s", orgauth.PermUserUpdate, op.Path)
		}
		return nil
	}
	switch op.Path {
	case "/spec/firstName", "/spec/lastName":
		v, err := str()
		if err != nil {
			return err
		}
		if op.Path == "/spec/firstName" {
			return setName(&u.FirstName, "spec.firstName", v, true)
		}
		return setName(&u.LastName, "spec.lastName", v, false)
	case "/spec/emailId":
		if err := needPerm(); err != nil {
			return err
		}
		v, err := str()
		if err != nil {
			return err
		}
		email, err := validEmail("spec.emailId", v)
		if err == nil {
			u.Email = email
		}
		return err
	case "/spec/roles":
		var ids []string
		if !remove {
			if err := json.Unmarshal(op.Value, &ids); err != nil {
				return orgauth.Errorf(orgauth.EINVALID, "value of /spec/roles must be a list of role ids")
			}
		}
		return setRoles(ctx, tq, p, u, ids)
	case "/spec/teams":
		if err := needPerm(); err != nil {
			return err
		}
		var ids []string
		if !remove {
			if err := json.Unmarshal(op.Value, &ids); err != nil {
				return orgauth.Errorf(orgauth.EINVALID, "value of /spec/teams must be a list of team ids")
			}
		}
		return setTeams(ctx, tq, p, u, "/spec/teams", ids)
	case "/metadata/annotations", "/metadata/labels":
		if err := needPerm(); err != nil {
			return err
		}
		var m map[string]string
		if !remove {
			if err := json.Unmarshal(op.Value, &m); err != nil {
				return orgauth.Errorf(orgauth.EINVALID, "value of %s must be an object of strings", op.Path)
			}
		}
		if err := validMap(op.Path, m); err != nil {
			return err
		}
		if op.Path == "/metadata/annotations" {
			u.Annotations = m
		} else {
			u.Labels = m
		}
		return nil
	case "/status/isActive":
		if err := needPerm(); err != nil {
			return err
		}
		if u.ID == p.User.ID {
			return orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot disable your own account")
		}
		var active bool
		if remove || json.Unmarshal(op.Value, &active) != nil {
			return orgauth.Errorf(orgauth.EINVALID, "value of /status/isActive must be true or false")
		}
		u.Disabled = !active
		return nil
	}
	return orgauth.Errorf(orgauth.EINVALID, "path %q cannot be patched", truncate(op.Path, 64))
}

func (s *Server) usersDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	if uid == p.User.ID {
		return orgauth.Errorf(orgauth.EINVALID, "you cannot delete your own account")
	}
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		u, err := s.targetUser(r.Context(), tq, uid)
		if err != nil {
			return err
		}
		if err := mayManage(r.Context(), tq, p, u); err != nil {
			return err
		}
		return tq.DeleteUser(r.Context(), uid)
	})
	if err != nil {
		return err
	}
	s.forgetUser(r.Context(), p.Tenant.ID, uid)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) usersLoginMode(w http.ResponseWriter, r *http.Request) error {
	var in v1UserStatusLoginMode
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.LoginMode != "dev" && in.LoginMode != "devops" {
		return orgauth.Errorf(orgauth.EINVALID, "loginMode must be dev or devops")
	}
	return s.updateUser(w, r, func(_ orgauth.TenantQueries, u *orgauth.User) error {
		u.LoginMode = in.LoginMode
		return nil
	})
}

// passwordChange changes the password of the user in the path. For oneself the
// current password is required; a holder of user.update may set another user's
// password without it. Every other session of that user ends.
func (s *Server) passwordChange(w http.ResponseWriter, r *http.Request) error {
	var in passwordChange
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.EmailID != "" {
		return orgauth.Errorf(orgauth.EINVALID, "unknown field \"emailId\"")
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	tq := s.store.InTenant(p.Tenant.ID)
	u, err := s.targetUser(ctx, tq, r.PathValue("uid"))
	if err != nil {
		return err
	}
	if err := mayManage(ctx, tq, p, u); err != nil {
		return err
	}
	// The new password is checked before the current one: that check counts as a
	// sign-in attempt, and a refused new password must not add to the lockout.
	if err := s.checkNewPassword(ctx, p.Tenant.ID, in.NewPassword); err != nil {
		return err
	}
	if u.ID == p.User.ID {
		if in.CurrentPassword == "" {
			return orgauth.Errorf(orgauth.EINVALID, "currentPassword is required")
		}
		if _, err := s.checkPassword(ctx, p.Tenant, u.Email, in.CurrentPassword, nil); err != nil {
			if err == errCredentials {
				return orgauth.Errorf(orgauth.EINVALID, "currentPassword is incorrect")
			}
			return err
		}
	}
	return s.setPassword(w, r, p.Tenant, u, in.NewPassword, p.SessionID)
}

// passwordChangeByEmail changes a password with the email and current password as
// credentials (for example when the old one expired). The org is resolved as for
// sign-in; every session of the user ends.
func (s *Server) passwordChangeByEmail(w http.ResponseWriter, r *http.Request) error {
	var in passwordChange
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.EmailID == "" || in.CurrentPassword == "" || in.NewPassword == "" {
		return orgauth.Errorf(orgauth.EINVALID, "emailId, currentPassword and newPassword are required")
	}
	t, err := s.resolveOrg(r, r.URL.Query().Get("org"))
	if err != nil && !isNotFound(err) {
		return err
	}
	if t == nil && err == nil {
		return orgauth.Errorf(orgauth.EINVALID, "org is required: this deployment has several organizations")
	}
	if t != nil {
		// Only the policy before the credentials: the blocklist (which
		// setPassword checks) must not be testable without them.
		pol, err := s.passwordPolicy(r.Context(), t.ID)
		if err != nil {
			return err
		}
		if err := pol.Check(in.NewPassword); err != nil {
			return err
		}
	}
	u, err := s.checkPassword(r.Context(), t, in.EmailID, in.CurrentPassword, nil)
	if err != nil {
		return err
	}
	return s.setPassword(w, r, t, u, in.NewPassword, "")
}

// setPassword checks pw against the tenant's policy and the blocklist, stores its
// hash and ends every session of u but keep.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, t *orgauth.Tenant, u *orgauth.User, pw, keep string) error {
	ctx := r.Context()
	if err := s.checkNewPassword(ctx, t.ID, pw); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	var ended []string
	err = s.write(w, r, t.ID, u.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(t.ID)
		if err := tq.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		ended, err = tq.RevokeUserSessions(ctx, u.ID, keep, now)
		return err
	})
	if err != nil {
		return err
	}
	s.forgetUser(ctx, t.ID, u.ID)
	s.forgetSessions(ctx, ended...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userTeamIDs returns the ids of the user's teams, by name.
func userTeamIDs(ctx context.Context, tq orgauth.TenantQueries, userID string) ([]string, error) {
	teams, err := tq.UserTeams(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(teams))
	for _, t := range teams {
		ids = append(ids, t.ID)
	}
	return ids, nil
}
