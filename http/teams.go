package http

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/orgauth/orgauth"
)

// Limits of one team.
const (
	maxTeamMembers = 1000
	maxTeamSources = 16
)

func toV1Team(t *orgauth.Team) v1Team {
	return v1Team{
		Metadata: v1ObjectMeta{UID: t.ID, Name: t.Name, Annotations: t.Annotations, Labels: t.Labels,
			CreationTimestamp: v1Time(t.CreatedAt), LastModifiedTimestamp: v1Time(t.UpdatedAt)},
		Spec:   v1TeamSpec{Roles: nonNilStrings(t.Roles), Sources: nonNilStrings(t.Sources), Users: nonNilStrings(t.Users)},
		Status: struct{}{},
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) teamsList(w http.ResponseWriter, r *http.Request) error {
	if err := noFilters(r); err != nil {
		return err
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	teams, next, err := s.store.InTenant(p.Tenant.ID).ListTeams(r.Context(), pg)
	if err != nil {
		return err
	}
	out := v1Teams{Items: make([]v1Team, 0, len(teams)), Listmeta: listMeta(pg, len(teams), next)}
	for _, t := range teams {
		out.Items = append(out.Items, toV1Team(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) teamsGet(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	t, err := targetTeam(r.Context(), s.store.InTenant(p.Tenant.ID), r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toV1Team(t))
	return nil
}

func targetTeam(ctx context.Context, tq orgauth.TenantQueries, id string) (*orgauth.Team, error) {
	if !validID(id) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "team not found")
	}
	t, err := tq.Team(ctx, id)
	if isNotFound(err) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "team not found")
	}
	return t, err
}

// validTeam checks the parts of a team that do not need the store: name, sources,
// member ids, annotations and labels. Sources default to local.
func validTeam(t *orgauth.Team) error {
	name, err := validName("metadata.name", t.Name, true)
	if err != nil {
		return err
	}
	t.Name = name
	if len(t.Users) > maxTeamMembers {
		return orgauth.Errorf(orgauth.EINVALID, "spec.users: a team has at most %d members", maxTeamMembers)
	}
	var users []string
	for _, id := range t.Users {
		if !validID(id) {
			return orgauth.Errorf(orgauth.EINVALID, "spec.users: unknown user %q", truncate(id, 64))
		}
		if !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	t.Users = users
	if len(t.Sources) == 0 {
		t.Sources = []string{orgauth.TeamSourceLocal}
	}
	if len(t.Sources) > maxTeamSources {
		return orgauth.Errorf(orgauth.EINVALID, "spec.sources: at most %d sources", maxTeamSources)
	}
	var sources []string
	for _, src := range t.Sources {
		if !validSource(src) {
			return orgauth.Errorf(orgauth.EINVALID, "spec.sources: %q is not a source name (local, or the lower-case name of an SSO source)", truncate(src, 64))
		}
		if !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
	}
	t.Sources = sources
	if err := validMap("metadata.annotations", t.Annotations); err != nil {
		return err
	}
	return validMap("metadata.labels", t.Labels)
}

// validSource reports whether s names a team source: 1 to 63 of [a-z0-9-].
func validSource(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// saveTeam checks the roles of t, which the caller must be able to grant, and the
// roles of the team as it was (old, nil for a new team), which it must be able to
// take away, then stores t. Members of another tenant are unknown users.
func saveTeam(ctx context.Context, tq orgauth.TenantQueries, p *principal, old, t *orgauth.Team) error {
	if err := validTeam(t); err != nil {
		return err
	}
	var before []string
	if old != nil {
		before = old.Users
	}
	if slices.Contains(before, p.User.ID) != slices.Contains(t.Users, p.User.ID) {
		return orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot change your own teams")
	}
	roles, err := grantable(ctx, tq, p, "spec.roles", t.Roles)
	if err != nil {
		return err
	}
	t.Roles = roles
	if old == nil {
		err = tq.CreateTeam(ctx, t)
	} else {
		if err := mayRevoke(ctx, tq, p, old.Roles); err != nil {
			return err
		}
		err = tq.UpdateTeam(ctx, t)
	}
	if isNotFound(err) {
		return orgauth.Errorf(orgauth.EINVALID, "spec.users: unknown user")
	}
	return err
}

// teamInput turns a team body into a team.
func teamInput(in *v1TeamIn) (*orgauth.Team, error) {
	t := &orgauth.Team{}
	if in.Metadata != nil {
		t.Name, t.Annotations, t.Labels = in.Metadata.Name, in.Metadata.Annotations, in.Metadata.Labels
	}
	if in.Spec != nil {
		t.Roles, t.Users, t.Sources = in.Spec.Roles, in.Spec.Users, in.Spec.Sources
	}
	return t, nil
}

func (s *Server) teamsCreate(w http.ResponseWriter, r *http.Request) error {
	var in v1TeamIn
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := teamInput(&in)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	now := s.cfg.Now()
	t.ID, t.CreatedAt, t.UpdatedAt = orgauth.NewID(), now, now
	err = s.write(w, r, p.Tenant.ID, t.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		if err := saveTeam(r.Context(), tq, p, nil, t); err != nil {
			return err
		}
		return s.reinviteAdded(r.Context(), tx, p.Tenant, nil, t.Users)
	})
	if err != nil {
		return err
	}
	s.forgetAuthz(r.Context(), p.Tenant.ID)
	writeJSON(w, http.StatusCreated, v1Uid{UID: t.ID})
	return nil
}

// updateTeam applies change to the team of the path in one audited write.
func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request, change func(t *orgauth.Team) error) error {
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		old, err := targetTeam(r.Context(), tq, uid)
		if err != nil {
			return err
		}
		t := *old
		t.Roles, t.Users, t.Sources = slices.Clone(old.Roles), slices.Clone(old.Users), slices.Clone(old.Sources)
		if err := change(&t); err != nil {
			return err
		}
		t.UpdatedAt = s.cfg.Now()
		if err := saveTeam(r.Context(), tq, p, old, &t); err != nil {
			return err
		}
		before := old.Users
		if !slices.Equal(old.Roles, t.Roles) {
			before = nil // every member now holds other roles
		}
		return s.reinviteAdded(r.Context(), tx, p.Tenant, before, t.Users)
	})
	if err != nil {
		return err
	}
	s.forgetAuthz(r.Context(), p.Tenant.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) teamsUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1TeamIn
	if err := decode(r, &in); err != nil {
		return err
	}
	next, err := teamInput(&in)
	if err != nil {
		return err
	}
	return s.updateTeam(w, r, func(t *orgauth.Team) error {
		t.Name, t.Annotations, t.Labels = next.Name, next.Annotations, next.Labels
		t.Roles, t.Users, t.Sources = next.Roles, next.Users, next.Sources
		return nil
	})
}

// teamsPatch applies a JSON patch to a team. Paths: /metadata/name,
// /metadata/annotations, /metadata/labels, /spec/roles, /spec/users and
// /spec/sources (add and replace set the whole value, remove clears it), and
// /spec/roles/-, /spec/users/- (add appends one id, remove takes one away).
func (s *Server) teamsPatch(w http.ResponseWriter, r *http.Request) error {
	var ops []v1HttpPatch
	if err := decode(r, &ops); err != nil {
		return err
	}
	if len(ops) == 0 || len(ops) > 32 {
		return orgauth.Errorf(orgauth.EINVALID, "a patch has 1 to 32 operations")
	}
	return s.updateTeam(w, r, func(t *orgauth.Team) error {
		for i, op := range ops {
			if err := applyTeamPatch(t, op); err != nil {
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

func applyTeamPatch(t *orgauth.Team, op v1HttpPatch) error {
	var remove bool
	switch op.Op {
	case "add", "replace":
	case "remove":
		remove = true
	default:
		return orgauth.Errorf(orgauth.EINVALID, "op must be add, replace or remove")
	}
	value := func(v any, what string) error {
		if remove {
			return nil
		}
		if err := json.Unmarshal(op.Value, v); err != nil {
			return orgauth.Errorf(orgauth.EINVALID, "value of %s must be %s", op.Path, what)
		}
		return nil
	}
	switch op.Path {
	case "/metadata/name":
		if remove {
			return orgauth.Errorf(orgauth.EINVALID, "metadata.name cannot be removed")
		}
		return value(&t.Name, "a string")
	case "/metadata/annotations", "/metadata/labels":
		var m map[string]string
		if err := value(&m, "an object of strings"); err != nil {
			return err
		}
		if op.Path == "/metadata/annotations" {
			t.Annotations = m
		} else {
			t.Labels = m
		}
		return nil
	case "/spec/roles", "/spec/users", "/spec/sources":
		var list []string
		if err := value(&list, "a list of strings"); err != nil {
			return err
		}
		switch op.Path {
		case "/spec/roles":
			t.Roles = list
		case "/spec/users":
			t.Users = list
		default:
			t.Sources = list
		}
		return nil
	case "/spec/roles/-", "/spec/users/-":
		var id string
		if json.Unmarshal(op.Value, &id) != nil || id == "" {
			return orgauth.Errorf(orgauth.EINVALID, "value of %s must be an id", op.Path)
		}
		dst := &t.Users
		if op.Path == "/spec/roles/-" {
			dst = &t.Roles
		}
		if op.Op == "replace" {
			return orgauth.Errorf(orgauth.EINVALID, "%s takes add or remove", op.Path)
		}
		if dst == &t.Roles {
			if r, ok := orgauth.BuiltinRole(id); ok {
				id = r.ID // the stored form of a built-in role named by its name
			}
		}
		if remove {
			if !slices.Contains(*dst, id) {
				return orgauth.Errorf(orgauth.EINVALID, "%q is not in %s", truncate(id, 64), strings.TrimSuffix(op.Path, "/-"))
			}
			*dst = slices.DeleteFunc(*dst, func(s string) bool { return s == id })
		} else if !slices.Contains(*dst, id) {
			*dst = append(*dst, id)
		}
		return nil
	}
	return orgauth.Errorf(orgauth.EINVALID, "path %q cannot be patched", truncate(op.Path, 64))
}

func (s *Server) teamsDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	uid := r.PathValue("uid")
	err := s.write(w, r, p.Tenant.ID, uid, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		t, err := targetTeam(r.Context(), tq, uid)
		if err != nil {
			return err
		}
		if err := mayRevoke(r.Context(), tq, p, t.Roles); err != nil {
			return err
		}
		return tq.DeleteTeam(r.Context(), uid)
	})
	if err != nil {
		return err
	}
	s.forgetAuthz(r.Context(), p.Tenant.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setTeams makes u a member of exactly the teams ids. Joining or leaving a team
// gives or takes its roles, so the caller must hold them in full.
func setTeams(ctx context.Context, tq orgauth.TenantQueries, p *principal, u *orgauth.User, field string, ids []string) error {
	if u.ID == p.User.ID {
		return orgauth.Errorf(orgauth.EFORBIDDEN, "you cannot change your own teams")
	}
	if len(ids) > orgauth.MaxTeamsPerUser {
		return orgauth.Errorf(orgauth.EINVALID, "%s: at most %d teams", field, orgauth.MaxTeamsPerUser)
	}
	current, err := tq.UserTeams(ctx, u.ID)
	if err != nil {
		return err
	}
	changed := map[string]bool{}
	for _, t := range current {
		if !slices.Contains(ids, t.ID) {
			changed[t.ID] = true
			if err := mayRevoke(ctx, tq, p, t.Roles); err != nil {
				return err
			}
		}
	}
	for _, id := range ids {
		t, err := targetTeam(ctx, tq, id)
		if isNotFound(err) {
			return orgauth.Errorf(orgauth.EINVALID, "%s: unknown team %q", field, truncate(id, 64))
		}
		if err != nil {
			return err
		}
		if _, err := grantable(ctx, tq, p, field, t.Roles); err != nil {
			return err
		}
	}
	if err := tq.SetUserTeams(ctx, u.ID, ids); err != nil {
		if isNotFound(err) {
			return orgauth.Errorf(orgauth.EINVALID, "%s: unknown team", field)
		}
		return err
	}
	return nil
}

// reinviteAdded supersedes the activation links of the users in after but not in
// before who have not activated their account yet, and queues their new
// invitations in tx: a link someone saw while the account held less must not
// open it now that it holds more.
func (s *Server) reinviteAdded(ctx context.Context, tx orgauth.Queries, t *orgauth.Tenant, before, after []string) error {
	tq := tx.InTenant(t.ID)
	for _, id := range after {
		if slices.Contains(before, id) {
			continue
		}
		u, err := tq.User(ctx, id)
		if err != nil {
			return err
		}
		if u.Activated {
			continue
		}
		if err := s.invite(ctx, tx, t, u); err != nil {
			return err
		}
	}
	return nil
}
