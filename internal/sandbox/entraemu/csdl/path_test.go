package csdl_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/entraemu/csdl"
)

// TestResolve: the paths credrotate uses resolve by the vendored metadata,
// and the ones Graph does not declare do not.
func TestResolve(t *testing.T) {
	t.Parallel()
	s := graph(t)
	cases := []struct {
		path, want, action, err string
	}{
		{path: "applications", want: "Collection(microsoft.graph.application)"},
		{path: "applications/0c1f-obj", want: "microsoft.graph.application"},
		{path: "applications('0c1f-obj')", want: "microsoft.graph.application"},
		{path: "applications(appId='11111111-2222-3333-4444-555555555555')", want: "microsoft.graph.application"},
		{path: "applications(appId='it''s')", want: "microsoft.graph.application"},
		{path: "applications(appId='a%2Fb')", want: "microsoft.graph.application"},
		{path: "applications/obj/addPassword", want: "microsoft.graph.application", action: "addPassword"},
		{path: "applications(appId='x')/microsoft.graph.removePassword", want: "microsoft.graph.application", action: "removePassword"},
		{path: "servicePrincipals(appId='m')/ownedObjects", want: "Collection(microsoft.graph.directoryObject)"},
		{path: "servicePrincipals(appId='m')/ownedObjects/microsoft.graph.application", want: "Collection(microsoft.graph.application)"},
		{path: "application/obj", err: "not an entity set"},
		{path: "applications(clientId='x')", err: `no key or alternate key "clientId"`},
		{path: "applications(appId=x)", err: "quoted Edm.String"},
		{path: "applications(appId='it's')", err: "quoted Edm.String"},
		{path: "applications/obj/addPasword", err: `no navigation property or bound action "addPasword"`},
		{path: "applications/obj/addPassword/more", err: "follows the action"},
		{path: "applications/obj/microsoft.graph.addKey", err: "no type and no action"},
		{path: "servicePrincipals(appId='m')/ownedObjects/microsoft.graph.passwordCredential", err: "not an entity type derived"},
		{path: "servicePrincipals(appId='m')/ownedObjects/microsoft.graph.entity", err: "not an entity type derived"},
		{path: "servicePrincipals(appId='m')/ownedObjects/microsoft.graph.servicePrincipal", want: "Collection(microsoft.graph.servicePrincipal)"},
		{path: "servicePrincipals(appId='m')/ownerObjects", err: "no navigation property"},
		{path: "applications(appId='x')(appId='y')", err: "quoted Edm.String"},
		{path: "applications(appId='x'", err: "unclosed key"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			got, err := s.Resolve(tc.path)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("resolved to %+v, %v; want an error with %q", got, err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case got.TypeName() != tc.want || (got.Action == nil) != (tc.action == "") || (got.Action != nil && got.Action.Name != tc.action):
				t.Errorf("resolved to %s (action %+v), want %s %s", got.TypeName(), got.Action, tc.want, tc.action)
			}
		})
	}
}

// TestChecks: queries, requests and answers against what a path addresses.
func TestChecks(t *testing.T) {
	t.Parallel()
	s := graph(t)
	app, _ := s.Resolve("applications(appId='x')")
	list, _ := s.Resolve("servicePrincipals(appId='m')/ownedObjects/microsoft.graph.application")
	add, _ := s.Resolve("applications/o/addPassword")
	remove, _ := s.Resolve("applications/o/removePassword")
	q := func(raw string) url.Values { v, _ := url.ParseQuery(raw); return v }
	check := func(name string, got []string, want string) {
		t.Helper()
		switch {
		case want == "" && len(got) > 0:
			t.Errorf("%s: violations %q, want none", name, got)
		case want != "" && !strings.Contains(strings.Join(got, "\n"), want):
			t.Errorf("%s: violations %q, want one with %q", name, got, want)
		}
	}
	check("select", s.CheckQuery(app, q("$select=id,appId,displayName,passwordCredentials")), "")
	check("select unknown", s.CheckQuery(app, q("$select=id,secrets")), `no property "secrets"`)
	check("top on a list", s.CheckQuery(list, q("$select=id&$top=100&$skiptoken=x")), "")
	check("top on one", s.CheckQuery(app, q("$top=1")), "on a collection")
	check("top not a count", s.CheckQuery(list, q("$top=all")), "want a count")
	check("filter", s.CheckQuery(list, q("$filter=x")), "not a query option")
	check("get", s.CheckRequest(app, "GET", nil), "")
	check("patch", s.CheckRequest(app, "PATCH", []byte(`{}`)), "only reads")
	check("get an action", s.CheckRequest(add, "GET", nil), "invoked with POST")
	check("add", s.CheckRequest(add, "POST", []byte(`{"passwordCredential":{"displayName":"n"}}`)), "")
	check("add wrong", s.CheckRequest(add, "POST", []byte(`{"passwordCredential":{"displayName":7}}`)), "want Edm.String")
	check("removed", s.CheckResponse(remove, nil), "")
	check("removed with a body", s.CheckResponse(remove, []byte(`{}`)), "returns nothing")
	check("added", s.CheckResponse(add, []byte(`{"keyId":"8e1c7f0a-4b1d-4a55-9f3c-2d5e6f7a8b9c","secretText":"s"}`)), "")
	check("added wrong", s.CheckResponse(add, []byte(`{"keyId":"k1"}`)), "want Edm.Guid")
	check("page", s.CheckResponse(list, []byte(`{"@odata.nextLink":"x","value":[{"id":"o","passwordCredentials":[]}]}`)), "")
	check("page not wrapped", s.CheckResponse(list, []byte(`[{"id":"o"}]`)), "object with value")
	check("page extra", s.CheckResponse(list, []byte(`{"value":[],"next":"x"}`)), "only value and annotations")
	check("page wrong item", s.CheckResponse(list, []byte(`{"value":[{"id":"o","passwordCredentials":[{"hint":1}]}]}`)), "want Edm.String")
	check("page no value", s.CheckResponse(list, []byte(`{}`)), "has no value")
}

func FuzzResolve(f *testing.F) {
	for _, p := range []string{"applications(appId='x')/addPassword", "servicePrincipals(appId='m')/ownedObjects/microsoft.graph.application", "applications/o", "applications('o')"} {
		f.Add(p, "$select=id&$top=1")
	}
	s, err := csdl.GraphV1()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		tgt, err := s.Resolve(path)
		if err != nil {
			return
		}
		q, _ := url.ParseQuery(query)
		_ = s.CheckQuery(tgt, q)
		_ = s.CheckRequest(tgt, "POST", []byte(query))
		_ = s.CheckResponse(tgt, []byte(query))
	})
}
