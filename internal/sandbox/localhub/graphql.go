package localhub

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed schema.graphql
var schemaSDL string

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

func loadSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		schema, schemaErr = gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: schemaSDL})
	})
	return schema, schemaErr
}

// gqlRequest is a GraphQL request body.
type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// gqlErr is one entry of a GraphQL response's "errors", shaped like
// GitHub's: a type (NOT_FOUND, FORBIDDEN, UNPROCESSABLE, ...) or, for
// documents that do not validate, extensions.code.
type gqlErr struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Message    string         `json:"message"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// resolveError is an error a resolver raises, with GitHub's type.
type resolveError struct {
	typ, msg string
}

func (e *resolveError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &resolveError{typ: "NOT_FOUND", msg: fmt.Sprintf(format, args...)}
}

func unprocessable(format string, args ...any) error {
	return &resolveError{typ: "UNPROCESSABLE", msg: fmt.Sprintf(format, args...)}
}

// gqlObject is a value of a GraphQL object type.
type gqlObject interface {
	typeName() string
	resolve(ctx *gqlExec, field string, args map[string]any) (any, error)
}

// gqlExec is one GraphQL request being executed. It runs with s.mu held.
type gqlExec struct {
	s      *Server
	r      *http.Request
	u      urls
	call   *call
	vars   map[string]any
	schema *ast.Schema
	errs   []gqlErr
	// autoMerge is set when a mutation enabled auto-merge: the merge runs
	// after the response is built, as GitHub's does asynchronously.
	autoMerge bool
}

// orderedMap keeps the response's fields in selection order.
type orderedMap struct {
	keys []string
	vals map[string]any
}

func (m *orderedMap) set(k string, v any) {
	if m.vals == nil {
		m.vals = map[string]any{}
	}
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
}

func (m *orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	s.countAPI("POST /graphql")
	if !s.takeRate(w, "graphql") || s.takeFault(w) {
		return
	}
	if _, present := credential(r); !present && s.opts.Token != "" {
		writeError(w, http.StatusUnauthorized, "This endpoint requires you to be authenticated.", nil)
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if c.kind == kindApp {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration: an App JWT only reaches /app endpoints", nil)
		return
	}
	var req gqlRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", nil)
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlErr{{Type: "INVALID", Message: "A query attribute must be specified and must be a string."}}})
		return
	}
	sch, err := loadSchema()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "loading the GraphQL schema: "+err.Error(), nil)
		return
	}
	doc, errs := gqlparser.LoadQueryWithRules(sch, req.Query, nil)
	if len(errs) > 0 {
		writeJSON(w, http.StatusOK, map[string]any{"errors": convertErrors(errs)})
		return
	}
	op, err := pickOperation(doc, req.OperationName)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlErr{{Type: "INVALID", Message: err.Error()}}})
		return
	}
	vars, err := validator.VariableValues(sch, op, req.Variables)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlErr{variableError(op, err)}})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			if s.counts.GraphQL == nil {
				s.counts.GraphQL = map[string]int{}
			}
			s.counts.GraphQL[string(op.Operation)+" "+f.Name]++
		}
	}
	s.refreshLocked(r.Context())
	ex := &gqlExec{s: s, r: r, u: s.urlsFor(r), call: c, vars: vars, schema: sch}
	var root gqlObject = gqlQuery{}
	if op.Operation == ast.Mutation {
		root = gqlMutation{}
	}
	data := ex.selections(op.SelectionSet, root, nil)
	resp := map[string]any{"data": data}
	if len(ex.errs) > 0 {
		resp["errors"] = ex.errs
	}
	writeJSON(w, http.StatusOK, resp)
	if ex.autoMerge {
		s.runAutoMergeLocked(context.WithoutCancel(r.Context()))
	}
	if op.Operation == ast.Mutation {
		s.saveLocked()
	}
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		op := doc.Operations.ForName(name)
		if op == nil {
			return nil, fmt.Errorf("no operation named %q", name)
		}
		return op, nil
	}
	if len(doc.Operations) != 1 {
		return nil, errors.New("an operationName is required when the document has several operations")
	}
	return doc.Operations[0], nil
}

// variableError words a variable that does not fit its type as GitHub
// does.
func variableError(op *ast.OperationDefinition, err error) gqlErr {
	var ge *gqlerror.Error
	msg := err.Error()
	name := ""
	if errors.As(err, &ge) {
		msg = ge.Message
		if len(ge.Path) > 1 {
			name = fmt.Sprint(ge.Path[1])
		}
	}
	typ := "?"
	if def := op.VariableDefinitions.ForName(name); def != nil {
		typ = def.Type.String()
	}
	return gqlErr{
		Type:       "INVALID",
		Message:    fmt.Sprintf("Variable $%s of type %s was provided invalid value: %s", name, typ, msg),
		Extensions: map[string]any{"code": "variableMismatch"},
	}
}

// convertErrors turns validation errors into GitHub's shape.
func convertErrors(list gqlerror.List) []gqlErr {
	out := make([]gqlErr, 0, len(list))
	for _, e := range list {
		ge := gqlErr{Message: e.Message, Type: "INVALID"}
		for _, l := range e.Locations {
			ge.Locations = append(ge.Locations, gqlLocation{Line: l.Line, Column: l.Column})
		}
		for _, p := range e.Path {
			ge.Path = append(ge.Path, p)
		}
		code := e.Rule
		switch e.Rule {
		case "FieldsOnCorrectType":
			code = "undefinedField"
		case "KnownArgumentNames":
			code = "argumentNotAccepted"
		case "KnownTypeNames":
			code = "undefinedType"
		case "ProvidedRequiredArguments":
			code = "missingRequiredArguments"
		case "":
			code = "parseError"
		}
		ge.Extensions = map[string]any{"code": code}
		if e.Rule == "FieldsOnCorrectType" {
			ge.Type = "undefinedField"
		}
		out = append(out, ge)
	}
	return out
}

// selections executes a selection set on obj.
func (ex *gqlExec) selections(set ast.SelectionSet, obj gqlObject, path []any) *orderedMap {
	out := &orderedMap{vals: map[string]any{}}
	ex.collect(set, obj, path, out)
	return out
}

func (ex *gqlExec) collect(set ast.SelectionSet, obj gqlObject, path []any, out *orderedMap) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if !ex.included(sel.Directives) {
				continue
			}
			key := sel.Alias
			if key == "" {
				key = sel.Name
			}
			fpath := append(append([]any(nil), path...), key)
			if sel.Name == "__typename" {
				out.set(key, obj.typeName())
				continue
			}
			v, err := obj.resolve(ex, sel.Name, sel.ArgumentMap(ex.vars))
			if err != nil {
				ex.fail(sel, fpath, err)
				out.set(key, nil)
				continue
			}
			out.set(key, ex.complete(sel, v, fpath))
		case *ast.InlineFragment:
			if ex.included(sel.Directives) && ex.typeMatches(sel.TypeCondition, obj.typeName()) {
				ex.collect(sel.SelectionSet, obj, path, out)
			}
		case *ast.FragmentSpread:
			if sel.Definition != nil && ex.included(sel.Directives) && ex.typeMatches(sel.Definition.TypeCondition, obj.typeName()) {
				ex.collect(sel.Definition.SelectionSet, obj, path, out)
			}
		}
	}
}

func (ex *gqlExec) complete(f *ast.Field, v any, path []any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case gqlObject:
		return ex.selections(f.SelectionSet, v, path)
	case []gqlObject:
		out := make([]any, 0, len(v))
		for i, o := range v {
			out = append(out, ex.selections(f.SelectionSet, o, append(append([]any(nil), path...), i)))
		}
		return out
	}
	return v
}

func (ex *gqlExec) typeMatches(cond, typ string) bool {
	if cond == "" || cond == typ {
		return true
	}
	for _, d := range ex.schema.PossibleTypes[cond] {
		if d.Name == typ {
			return true
		}
	}
	return false
}

// included applies @skip and @include.
func (ex *gqlExec) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		v, _ := d.ArgumentMap(ex.vars)["if"].(bool)
		switch d.Name {
		case "skip":
			if v {
				return false
			}
		case "include":
			if !v {
				return false
			}
		}
	}
	return true
}

func (ex *gqlExec) fail(f *ast.Field, path []any, err error) {
	ge := gqlErr{Path: path, Message: err.Error(), Type: "INTERNAL"}
	var re *resolveError
	if errors.As(err, &re) {
		ge.Type = re.typ
	}
	if f.Position != nil {
		ge.Locations = []gqlLocation{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	ex.errs = append(ex.errs, ge)
}

// Root types.

type gqlQuery struct{}

func (gqlQuery) typeName() string { return "Query" }

func (gqlQuery) resolve(ex *gqlExec, field string, args map[string]any) (any, error) {
	s := ex.s
	switch field {
	case "repository":
		owner, _ := args["owner"].(string)
		name, _ := args["name"].(string)
		if !strings.EqualFold(owner, s.opts.Owner) || !strings.EqualFold(name, s.opts.Repo) {
			return nil, notFound("Could not resolve to a Repository with the name '%s/%s'.", owner, name)
		}
		return gqlRepo{}, nil
	case "node":
		id, _ := args["id"].(string)
		return ex.node(id)
	case "viewer":
		return gqlActor{login: ex.call.login}, nil
	case "rateLimit":
		win := s.rate["graphql"]
		used, reset := 0, time.Now().Add(time.Hour)
		if win != nil {
			used, reset = win.used, win.reset
		}
		return gqlScalars{"RateLimit", map[string]any{
			"cost": 1, "limit": s.opts.RateLimit, "nodeCount": 1, "remaining": max(s.opts.RateLimit-used, 0),
			"resetAt": reset.UTC().Format(time.RFC3339), "used": used,
		}}, nil
	}
	return nil, fmt.Errorf("field %s is not served by localhub", field)
}

func (ex *gqlExec) node(id string) (any, error) {
	kind, key, ok := parseNodeID(id)
	if ok {
		switch kind {
		case "PR":
			if is := ex.s.pullByKey(key); is != nil {
				return gqlPull{is}, nil
			}
		case "R":
			if key == ex.s.opts.Owner+"/"+ex.s.opts.Repo {
				return gqlRepo{}, nil
			}
		}
	}
	return nil, notFound("Could not resolve to a node with the global id of '%s'", id)
}

// pullByKey finds a pull request by the key its node id carries.
func (s *Server) pullByKey(key string) *issue {
	repo, num, ok := strings.Cut(key, "#")
	if !ok || repo != s.opts.Owner+"/"+s.opts.Repo {
		return nil
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return nil
	}
	if is := s.issueByNumber(n); is != nil && is.pr != nil {
		return is
	}
	return nil
}

type gqlMutation struct{}

func (gqlMutation) typeName() string { return "Mutation" }

func (gqlMutation) resolve(ex *gqlExec, field string, args map[string]any) (any, error) {
	input, _ := args["input"].(map[string]any)
	str := func(k string) string { v, _ := input[k].(string); return v }
	if !ex.s.opts.Permissions.allows(permPulls, AccessWrite) {
		who := "personal access token"
		if ex.call.kind == kindInstallation {
			who = "integration"
		}
		return nil, &resolveError{typ: "FORBIDDEN", msg: "Resource not accessible by " + who + " (the token needs pull_requests: write)"}
	}
	id := str("pullRequestId")
	kind, key, ok := parseNodeID(id)
	var is *issue
	if ok && kind == "PR" {
		is = ex.s.pullByKey(key)
	}
	if is == nil {
		return nil, notFound("Could not resolve to a node with the global id of '%s'", id)
	}
	payload := gqlScalars{"", map[string]any{
		"clientMutationId": input["clientMutationId"], "actor": gqlActor{login: ex.call.login}, "pullRequest": gqlPull{is},
	}}
	method := strings.ToLower(str("mergeMethod"))
	if method == "" {
		method = "merge"
	}
	p := is.pr
	switch field {
	case "enablePullRequestAutoMerge":
		payload.typ = "EnablePullRequestAutoMergePayload"
		switch {
		case p.merged:
			return nil, unprocessable("Pull request is already merged")
		case is.state != "open":
			return nil, unprocessable("Pull request is closed")
		case p.draft:
			return nil, unprocessable("Can't enable auto-merge for this pull request because it is a draft.")
		case str("expectedHeadOid") != "" && str("expectedHeadOid") != p.headSHA:
			return nil, unprocessable("Head sha didn't match expected head sha")
		case ex.s.detailLocked(ex.r.Context(), is).mergeableState == "clean":
			// GitHub enables auto-merge only on a pull request that has
			// something to wait for; a mergeable one with its checks passed
			// is refused, to be merged directly.
			return nil, unprocessable("Pull request Pull request is in clean status")
		}
		p.autoMerge = &autoMerge{
			method: method, enabledAt: time.Now().UTC(), enabledBy: ex.call.login,
			commitTitle: str("commitHeadline"), commitMessage: str("commitBody"), expectedHead: str("expectedHeadOid"),
		}
		is.updatedAt = time.Now().UTC()
		ex.autoMerge = true
		return payload, nil
	case "disablePullRequestAutoMerge":
		payload.typ = "DisablePullRequestAutoMergePayload"
		p.autoMerge = nil
		is.updatedAt = time.Now().UTC()
		return payload, nil
	case "mergePullRequest":
		payload.typ = "MergePullRequestPayload"
		if !ex.s.opts.Permissions.allows(permContents, AccessWrite) {
			return nil, &resolveError{typ: "FORBIDDEN", msg: "Resource not accessible (the token needs contents: write)"}
		}
		var title, body *string
		if v := str("commitHeadline"); v != "" {
			title = &v
		}
		if v, ok := input["commitBody"].(string); ok {
			body = &v
		}
		if _, err := ex.s.mergeLocked(ex.r.Context(), is, method, title, body, str("expectedHeadOid"), ex.call.login); err != nil {
			return nil, unprocessable("%s", err.Error())
		}
		ex.autoMerge = true
		return payload, nil
	}
	return nil, fmt.Errorf("mutation %s is not served by localhub", field)
}

// gqlScalars is an object whose fields are fixed values.
type gqlScalars struct {
	typ    string
	fields map[string]any
}

func (g gqlScalars) typeName() string { return g.typ }

func (g gqlScalars) resolve(_ *gqlExec, field string, _ map[string]any) (any, error) {
	return g.fields[field], nil
}

type gqlActor struct{ login string }

func (a gqlActor) typeName() string {
	if strings.HasSuffix(a.login, "[bot]") {
		return "Bot"
	}
	return "User"
}

func (a gqlActor) resolve(ex *gqlExec, field string, _ map[string]any) (any, error) {
	switch field {
	case "id":
		return nodeID("U", a.login), nil
	case "login":
		return a.login, nil
	case "name":
		return a.login, nil
	case "avatarUrl":
		return ex.u.web + "/avatars/" + escapeLogin(a.login), nil
	case "resourcePath", "url":
		path := "/" + escapeLogin(a.login)
		if slug, ok := strings.CutSuffix(a.login, "[bot]"); ok {
			path = "/apps/" + slug
		}
		if field == "url" {
			return ex.u.web + path, nil
		}
		return path, nil
	}
	return nil, nil
}

type gqlOrg struct{ login string }

func (o gqlOrg) typeName() string { return "Organization" }

func (o gqlOrg) resolve(ex *gqlExec, field string, args map[string]any) (any, error) {
	if field == "id" {
		return nodeID("O", o.login), nil
	}
	return gqlActor(o).resolve(ex, field, args)
}

type gqlRepo struct{}

func (gqlRepo) typeName() string { return "Repository" }

func (gqlRepo) resolve(ex *gqlExec, field string, args map[string]any) (any, error) {
	s := ex.s
	switch field {
	case "id":
		return nodeID("R", s.opts.Owner+"/"+s.opts.Repo), nil
	case "name":
		return s.opts.Repo, nil
	case "nameWithOwner":
		return s.opts.Owner + "/" + s.opts.Repo, nil
	case "owner":
		return gqlOrg{login: s.opts.Owner}, nil
	case "url":
		return s.repoWebURL(ex.u), nil
	case "isPrivate":
		return true, nil
	case "autoMergeAllowed", "mergeCommitAllowed", "squashMergeAllowed", "rebaseMergeAllowed":
		return true, nil
	case "viewerPermission":
		if s.opts.Permissions.allows(permContents, AccessWrite) {
			return "WRITE", nil
		}
		return "READ", nil
	case "defaultBranchRef":
		b := s.defaultBranch(ex.r)
		sha, ok := s.git.resolve(ex.r.Context(), "refs/heads/"+b)
		if !ok {
			return nil, nil
		}
		return gqlScalars{"Ref", map[string]any{
			"id": nodeID("REF", "refs/heads/"+b), "name": b, "prefix": "refs/heads/", "target": gqlCommit{sha: sha},
		}}, nil
	case "pullRequest":
		n, _ := toInt(args["number"])
		is := s.issueByNumber(n)
		if is == nil || is.pr == nil {
			return nil, notFound("Could not resolve to a PullRequest with the number of %d.", n)
		}
		return gqlPull{is}, nil
	}
	return nil, nil
}

type gqlCommit struct{ sha string }

func (gqlCommit) typeName() string { return "Commit" }

func (c gqlCommit) resolve(ex *gqlExec, field string, _ map[string]any) (any, error) {
	switch field {
	case "id":
		return nodeID("C", c.sha), nil
	case "oid":
		return c.sha, nil
	case "abbreviatedOid":
		return c.sha[:7], nil
	case "url":
		return ex.s.repoWebURL(ex.u) + "/commit/" + c.sha, nil
	case "message", "messageHeadline", "committedDate":
		out, err := ex.s.git.run(ex.r.Context(), "", nil, nil, "log", "-1", "--format=%cI%n%B", c.sha)
		if err != nil {
			return nil, err
		}
		date, msg, _ := strings.Cut(out, "\n")
		msg = strings.TrimRight(msg, "\n")
		switch field {
		case "committedDate":
			t, err := time.Parse(time.RFC3339, date)
			if err != nil {
				return date, nil
			}
			return t.UTC().Format(time.RFC3339), nil
		case "messageHeadline":
			head, _, _ := strings.Cut(msg, "\n")
			return head, nil
		}
		return msg, nil
	}
	return nil, nil
}

type gqlPull struct{ is *issue }

func (gqlPull) typeName() string { return "PullRequest" }

func (g gqlPull) resolve(ex *gqlExec, field string, _ map[string]any) (any, error) {
	s, is, p := ex.s, g.is, g.is.pr
	web := s.repoWebURL(ex.u) + "/pull/" + strconv.Itoa(is.number)
	switch field {
	case "id":
		return nodeID("PR", s.prKey(is.number)), nil
	case "number":
		return is.number, nil
	case "title":
		return is.title, nil
	case "body":
		return is.body, nil
	case "url", "permalink":
		return web, nil
	case "resourcePath":
		return strings.TrimPrefix(web, ex.u.web), nil
	case "state":
		switch {
		case p.merged:
			return "MERGED", nil
		case is.state == "closed":
			return "CLOSED", nil
		}
		return "OPEN", nil
	case "closed":
		return is.state == "closed", nil
	case "merged":
		return p.merged, nil
	case "mergedAt":
		return ts(p.mergedAt), nil
	case "closedAt":
		return ts(is.closedAt), nil
	case "createdAt":
		return ts(is.createdAt), nil
	case "updatedAt":
		return ts(is.updatedAt), nil
	case "isDraft":
		return p.draft, nil
	case "headRefName":
		return p.head, nil
	case "headRefOid":
		return p.headSHA, nil
	case "baseRefName":
		return p.base, nil
	case "baseRefOid":
		return p.baseSHA, nil
	case "mergeable", "mergeStateStatus":
		d := s.detailLocked(ex.r.Context(), is)
		if field == "mergeable" {
			switch d.mergeable {
			case true:
				return "MERGEABLE", nil
			case false:
				return "CONFLICTING", nil
			}
			return "UNKNOWN", nil
		}
		return strings.ToUpper(d.mergeableState), nil
	case "mergeCommit":
		if p.mergeCommitSHA == "" {
			return nil, nil
		}
		return gqlCommit{sha: p.mergeCommitSHA}, nil
	case "autoMergeRequest":
		if p.autoMerge == nil {
			return nil, nil
		}
		am := p.autoMerge
		var headline, body any
		if am.commitTitle != "" {
			headline = am.commitTitle
		}
		if am.commitMessage != "" {
			body = am.commitMessage
		}
		return gqlScalars{"AutoMergeRequest", map[string]any{
			"authorEmail": nil, "commitBody": body, "commitHeadline": headline,
			"enabledAt": ts(am.enabledAt), "enabledBy": gqlActor{login: am.enabledBy},
			"mergeMethod": strings.ToUpper(am.method), "pullRequest": g,
		}}, nil
	case "author":
		return gqlActor{login: is.user}, nil
	case "mergedBy":
		if !p.merged {
			return nil, nil
		}
		return gqlActor{login: p.mergedBy}, nil
	case "viewerCanEnableAutoMerge":
		return is.state == "open" && p.autoMerge == nil && s.opts.Permissions.allows(permPulls, AccessWrite), nil
	case "viewerCanDisableAutoMerge":
		return p.autoMerge != nil && s.opts.Permissions.allows(permPulls, AccessWrite), nil
	case "repository":
		return gqlRepo{}, nil
	case "labels":
		var nodes []gqlObject
		for _, name := range is.labels {
			l := s.labelFor(name)
			var desc any
			if l.description != "" {
				desc = l.description
			}
			nodes = append(nodes, gqlScalars{"Label", map[string]any{
				"id": nodeID("LA", l.name), "name": l.name, "color": l.color, "description": desc,
			}})
		}
		if nodes == nil {
			nodes = []gqlObject{}
		}
		return gqlScalars{"LabelConnection", map[string]any{"nodes": nodes, "totalCount": len(nodes)}}, nil
	}
	return nil, nil
}

// toInt reads a GraphQL Int argument.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}
