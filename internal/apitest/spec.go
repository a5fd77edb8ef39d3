package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orgauth/orgauth/spec"
)

var (
	loadOnce sync.Once
	doc      *openapi3.T
	loadErr  error
)

// contract returns the spec, converted to OpenAPI 3 with every $ref resolved.
func contract() (*openapi3.T, error) {
	loadOnce.Do(func() {
		var d2 openapi2.T
		if loadErr = json.Unmarshal(spec.PaletteIdentityV1, &d2); loadErr != nil {
			return
		}
		if doc, loadErr = openapi2conv.ToV3(&d2); loadErr != nil {
			return
		}
		loadErr = openapi3.NewLoader().ResolveRefsIn(doc, nil)
	})
	return doc, loadErr
}

// SpecPath returns the path template of the spec that matches path (without
// query), or "" when no operation of the spec has that path.
func SpecPath(path string) string {
	d, err := contract()
	if err != nil {
		return ""
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestVars := "", 1<<30
	for _, tmpl := range d.Paths.Keys() {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		vars, ok := 0, true
		for i, t := range ts {
			if strings.HasPrefix(t, "{") {
				vars++
			} else if t != segs[i] {
				ok = false
				break
			}
		}
		if ok && vars < bestVars {
			best, bestVars = tmpl, vars
		}
	}
	return best
}

// CheckResponse validates one answer against the contract: a status the spec
// declares for the operation gets its schema checked (a 204 must be empty); any
// 4xx/5xx must be the Palette error shape. Paths outside the spec are not checked.
func CheckResponse(method, path string, status int, body []byte) error {
	d, err := contract()
	if err != nil {
		return fmt.Errorf("loading the spec: %w", err)
	}
	if status >= 400 {
		return checkErrorShape(body)
	}
	tmpl := SpecPath(path)
	if tmpl == "" {
		return nil
	}
	op := d.Paths.Value(tmpl).GetOperation(strings.ToUpper(method))
	if op == nil {
		return fmt.Errorf("%s %s: the spec has no such operation", method, tmpl)
	}
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("%s %s: status %d is not in the spec", method, tmpl, status)
	}
	if status == 204 { // no body, whatever schema the spec attaches (v1Updated)
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s %s: 204 with a body: %q", method, tmpl, body)
		}
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s %s: status %d has no body in the spec, got %q", method, tmpl, status, body)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s: body is not JSON: %v", method, tmpl, err)
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s %s %d: body does not match the spec: %v\nbody: %s", method, tmpl, status, err, body)
	}
	return nil
}

// checkErrorShape checks {"code","message","ref"} with non-empty strings.
func checkErrorShape(body []byte) error {
	var e struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
		Ref     *string `json:"ref"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("error body is not JSON: %q", body)
	}
	if e.Code == nil || *e.Code == "" || e.Message == nil || *e.Message == "" || e.Ref == nil || *e.Ref == "" {
		return fmt.Errorf("error body is not the Palette error shape: %s", body)
	}
	return nil
}

// Operation is one operation of the spec.
type Operation struct {
	Method, Path, ID string
}

// Operations returns every operation of the spec, ordered by path and method.
func Operations() ([]Operation, error) {
	d, err := contract()
	if err != nil {
		return nil, err
	}
	var out []Operation
	for _, path := range d.Paths.Keys() {
		for method, op := range d.Paths.Value(path).Operations() {
			out = append(out, Operation{Method: method, Path: path, ID: op.OperationID})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}
