package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
)

// This file holds the JSON shapes of the Palette v1 identity API, named after the
// spec's definitions, and the one decoder every request body goes through.

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// decode reads the JSON request body into v: exactly one JSON value, no unknown
// fields, at most maxBody bytes. Any problem is an EINVALID (or ETOOLARGE) error
// that says what is wrong.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return orgauth.Errorf(orgauth.EINVALID, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return orgauth.Errorf(orgauth.ETOOLARGE, "request body is larger than %d bytes", maxBody)
		}
		return orgauth.Errorf(orgauth.EINVALID, "could not read the request body")
	}
	return decodeJSON(body, v)
}

// decodeJSON is the strict JSON decoder of decode, on bytes already read.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return orgauth.Errorf(orgauth.EINVALID, "request body is required")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return orgauth.Errorf(orgauth.EINVALID, "invalid JSON body: %s", jsonProblem(err))
	}
	if d.More() {
		return orgauth.Errorf(orgauth.EINVALID, "invalid JSON body: more than one JSON value")
	}
	if _, err := d.Token(); err != io.EOF {
		return orgauth.Errorf(orgauth.EINVALID, "invalid JSON body: unexpected data after the JSON value")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input at length.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type.String())
		}
		return fmt.Sprintf("value must be %s", typ.Type.String())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if len(f) > 80 {
			f = f[:80] + "…\""
		}
		return "unknown field " + f
	}
	return "malformed JSON"
}

// v1Time formats t for the wire; the zero time is omitted.
func v1Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

type v1ObjectMeta struct {
	Annotations           map[string]string `json:"annotations,omitempty"`
	CreationTimestamp     *time.Time        `json:"creationTimestamp,omitempty"`
	DeletionTimestamp     *time.Time        `json:"deletionTimestamp,omitempty"`
	Labels                map[string]string `json:"labels,omitempty"`
	LastModifiedTimestamp *time.Time        `json:"lastModifiedTimestamp,omitempty"`
	Name                  string            `json:"name,omitempty"`
	UID                   string            `json:"uid,omitempty"`
}

type v1Uid struct {
	UID string `json:"uid"`
}

type v1ListMetaData struct {
	Continue string `json:"continue,omitempty"`
	Count    int    `json:"count"`
	Limit    int    `json:"limit"`
	Offset   int    `json:"offset"`
}

type v1AuthLogin struct {
	EmailID  string `json:"emailId"`
	Org      string `json:"org"`
	Password string `json:"password"`
}

type v1UserToken struct {
	Authorization string `json:"Authorization"`
	IsMfa         bool   `json:"isMfa"`
}

type v1SsoLogin struct {
	DisplayName string `json:"displayName,omitempty"`
	Logo        string `json:"logo,omitempty"`
	Name        string `json:"name,omitempty"`
	RedirectURI string `json:"redirectUri,omitempty"`
}

type v1LoginResponse struct {
	AppEnv       string       `json:"appEnv"`
	AuthType     string       `json:"authType,omitempty"`
	OrgName      string       `json:"orgName,omitempty"`
	RedirectURL  string       `json:"redirectUrl,omitempty"`
	RootDomain   string       `json:"rootDomain,omitempty"`
	SecurityMode string       `json:"securityMode,omitempty"`
	SsoLogins    []v1SsoLogin `json:"ssoLogins"`
	TotalTenants int64        `json:"totalTenants"`
}

type v1Organization struct {
	AuthType    string       `json:"authType,omitempty"`
	Name        string       `json:"name,omitempty"`
	RedirectURL string       `json:"redirectUrl,omitempty"`
	SsoLogins   []v1SsoLogin `json:"ssoLogins"`
}

type v1Organizations struct {
	Organizations []v1Organization `json:"organizations"`
}

type v1UserInfo struct {
	OrgName   string `json:"orgName"`
	TenantUID string `json:"tenantUid"`
	UserUID   string `json:"userUid"`
}

type v1AuthTokenRevoke struct {
	Tokens []string `json:"tokens"`
}

type v1AuthTokenSettings struct {
	ExpiryTimeMinutes *int `json:"expiryTimeMinutes"`
}

type v1LoginBannerSettings struct {
	Message   string `json:"Message"`
	IsEnabled bool   `json:"isEnabled"`
	Title     string `json:"title"`
}

type v1TenantEntity struct {
	Metadata *v1ObjectMeta       `json:"metadata"`
	Spec     *v1TenantSpecEntity `json:"spec"`
}

type v1TenantSpecEntity struct {
	Address    *orgauth.Address `json:"address"`
	AuthType   string           `json:"authType"`
	EmailID    string           `json:"emailId"`
	FirstName  string           `json:"firstName"`
	LastName   string           `json:"lastName"`
	LoginMode  string           `json:"loginMode"`
	OrgEmailID string           `json:"orgEmailId"`
	OrgName    string           `json:"orgName"`
	Roles      []string         `json:"roles"`
	SsoApp     string           `json:"ssoApp"`
}

type v1Tenant struct {
	Metadata v1ObjectMeta   `json:"metadata"`
	Spec     v1TenantSpec   `json:"spec"`
	Status   v1TenantStatus `json:"status"`
}

type v1TenantSpec struct {
	Address          *orgauth.Address `json:"address,omitempty"`
	AuthType         string           `json:"authType,omitempty"`
	DefaultLoginMode string           `json:"defaultLoginMode,omitempty"`
	OrgEmailID       string           `json:"orgEmailId,omitempty"`
	OrgName          string           `json:"orgName"`
	PlanUID          string           `json:"planUid,omitempty"`
}

type v1TenantStatus struct {
	IsActive    bool `json:"isActive"`
	ToBeDeleted bool `json:"toBeDeleted"`
}

type v1Tenants struct {
	Items    []v1Tenant      `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta,omitempty"`
}

type v1UserEntity struct {
	Metadata *v1ObjectMeta     `json:"metadata"`
	Spec     *v1UserSpecEntity `json:"spec"`
}

type v1UserSpecEntity struct {
	EmailID   string   `json:"emailId"`
	FirstName string   `json:"firstName"`
	LastName  string   `json:"lastName"`
	LoginMode string   `json:"loginMode"`
	Roles     []string `json:"roles"`
	Teams     []string `json:"teams"`
}

type v1UserUpdateEntity struct {
	Metadata *v1ObjectMeta           `json:"metadata"`
	Spec     *v1UserUpdateSpecEntity `json:"spec"`
}

type v1UserUpdateSpecEntity struct {
	EmailID   *string  `json:"emailId"`
	FirstName *string  `json:"firstName"`
	LastName  *string  `json:"lastName"`
	Roles     []string `json:"roles"`
	Teams     []string `json:"teams"` // beyond the spec's shape, as in v1UserSpecEntity
}

type v1User struct {
	Metadata v1ObjectMeta `json:"metadata"`
	Spec     v1UserSpec   `json:"spec"`
	Status   v1UserStatus `json:"status"`
}

type v1UserSpec struct {
	EmailID   string   `json:"emailId"`
	FirstName string   `json:"firstName"`
	LastName  string   `json:"lastName"`
	Roles     []string `json:"roles"`
}

type v1UserStatus struct {
	ActivationLink      string     `json:"activationLink,omitempty"`
	IsActive            bool       `json:"isActive"`
	IsPasswordResetting bool       `json:"isPasswordResetting"`
	LastSignIn          *time.Time `json:"lastSignIn,omitempty"`
}

type v1Users struct {
	Items    []v1User        `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta,omitempty"`
}

type v1HttpPatch struct {
	From  string          `json:"from"`
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

type v1FilterString struct {
	BeginsWith *string `json:"beginsWith"`
	Contains   *string `json:"contains"`
	Eq         *string `json:"eq"`
	IgnoreCase *bool   `json:"ignoreCase"`
	Ne         *string `json:"ne"`
}

type v1UsersSummarySpec struct {
	Filter *struct {
		EmailID *v1FilterString `json:"emailId"`
		Name    *v1FilterString `json:"name"`
	} `json:"filter"`
	Sort []struct {
		Field *string `json:"field"`
		Order string  `json:"order"`
	} `json:"sort"`
}

type v1UidSummary struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

type v1UserSummary struct {
	Metadata v1ObjectMeta      `json:"metadata"`
	Spec     v1UserSpecSummary `json:"spec"`
	Status   v1UserStatus      `json:"status"`
}

type v1UserSpecSummary struct {
	EmailID   string         `json:"emailId"`
	FirstName string         `json:"firstName"`
	LastName  string         `json:"lastName"`
	Roles     []v1UidSummary `json:"roles"`
	Teams     []v1UidSummary `json:"teams"`
}

// v1UsersSummaryList carries listmeta beyond the spec's items, for pagination.
type v1UsersSummaryList struct {
	Items    []v1UserSummary `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta,omitempty"`
}

type v1UserMetaEntity struct {
	EmailID string `json:"emailId"`
	Name    string `json:"name"`
	UID     string `json:"uid"`
}

// v1UsersMetadata carries listmeta beyond the spec's items, for pagination.
type v1UsersMetadata struct {
	Items    []v1UserMetaEntity `json:"items"`
	Listmeta *v1ListMetaData    `json:"listmeta,omitempty"`
}

type v1UserStatusLoginMode struct {
	LoginMode string `json:"loginMode"`
}

type passwordChange struct {
	CurrentPassword string `json:"currentPassword"`
	EmailID         string `json:"emailId"`
	NewPassword     string `json:"newPassword"`
}

type passwordActivate struct {
	Password string `json:"password"`
}

type v1ApiKeyEntity struct {
	Metadata *v1ObjectMeta `json:"metadata"`
	Spec     *struct {
		Expiry  *time.Time `json:"expiry"`
		UserUID string     `json:"userUid"`
	} `json:"spec"`
}

type v1ApiKeyCreateResponse struct {
	APIKey string `json:"apiKey"`
	UID    string `json:"uid"`
}

type v1ApiKey struct {
	Metadata v1ObjectMeta   `json:"metadata"`
	Spec     v1ApiKeySpec   `json:"spec"`
	Status   v1ApiKeyStatus `json:"status"`
}

type v1ApiKeySpec struct {
	Expiry *time.Time   `json:"expiry,omitempty"`
	Key    string       `json:"key,omitempty"`
	User   v1ApiKeyUser `json:"user"`
}

type v1ApiKeyUser struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	UID       string `json:"uid"`
}

type v1ApiKeyStatus struct {
	IsActive bool `json:"isActive"`
}

type v1ApiKeys struct {
	Items []v1ApiKey `json:"items"`
}

type v1ApiKeyUpdate struct {
	Metadata *v1ObjectMeta `json:"metadata"`
	Spec     *struct {
		Expiry *time.Time `json:"expiry"`
	} `json:"spec"`
}

type v1ApiKeyActiveState struct {
	IsActive *bool `json:"isActive"`
}

type v1Team struct {
	Metadata v1ObjectMeta `json:"metadata"`
	Spec     v1TeamSpec   `json:"spec"`
	Status   struct{}     `json:"status"`
}

type v1TeamSpec struct {
	Roles   []string `json:"roles"`
	Sources []string `json:"sources"`
	Users   []string `json:"users"`
}

// v1TeamIn is the body of a team create or update; status is read-only.
type v1TeamIn struct {
	Metadata *v1ObjectMeta   `json:"metadata"`
	Spec     *v1TeamSpec     `json:"spec"`
	Status   json.RawMessage `json:"status"`
}

type v1Teams struct {
	Items    []v1Team        `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta,omitempty"`
}

type v1Role struct {
	Metadata v1ObjectMeta `json:"metadata"`
	Spec     v1RoleSpec   `json:"spec"`
	Status   v1RoleStatus `json:"status"`
}

type v1RoleSpec struct {
	Permissions []string `json:"permissions"`
	Scope       string   `json:"scope,omitempty"`
	Type        string   `json:"type,omitempty"`
}

type v1RoleStatus struct {
	IsEnabled bool `json:"isEnabled"`
}

// v1RoleIn is the body of a role create or update; status is read-only.
type v1RoleIn struct {
	Metadata *v1ObjectMeta   `json:"metadata"`
	Spec     *v1RoleSpec     `json:"spec"`
	Status   json.RawMessage `json:"status"`
}

type v1Roles struct {
	Items    []v1Role        `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta,omitempty"`
}

type v1UserRolesEntity struct {
	InheritedRoles []v1UidSummary `json:"inheritedRoles"`
	Roles          []v1UidSummary `json:"roles"`
}

type v1UserRoleUIDs struct {
	Roles []string `json:"roles"`
}

// v1Permissions is the permission catalogue (beyond the spec: GET /v1/permissions).
type v1Permissions struct {
	Items []v1Permission `json:"items"`
}

type v1Permission struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	Verb     string `json:"verb"`
	Scope    string `json:"scope"` // tenant, or system for permissions only system roles use
}

// v1AuditRecords is a page of the audit trail (beyond the spec: GET /v1/audit).
type v1AuditRecords struct {
	Items    []v1AuditRecord `json:"items"`
	Listmeta *v1ListMetaData `json:"listmeta"`
}

type v1AuditRecord struct {
	UID       string     `json:"uid"`
	TenantUID string     `json:"tenantUid"`
	ActorUID  string     `json:"actorUid,omitempty"`
	Action    string     `json:"action"`
	Target    string     `json:"target,omitempty"`
	Outcome   string     `json:"outcome"`
	RequestID string     `json:"requestId,omitempty"`
	ClientIP  string     `json:"clientIp,omitempty"`
	Timestamp *time.Time `json:"timestamp"`
}
