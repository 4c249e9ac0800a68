package httpprov_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/provider/httpprov"
)

func readEquifaxYAML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "providers", "equifax-rest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExampleDescriptionsAreValid(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "providers", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example descriptions: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".openapi.yaml") {
			continue
		}
		d, err := httpprov.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		// Each names in its comment the secrets a configuration gives it.
		secrets := map[string][]string{"okta.yaml": {"apiToken"}, "okta-service-app.yaml": {"serviceAppKey"}}[filepath.Base(f)]
		if err := httpprov.Validate(d, nil, secrets); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestBadDescriptions: each mistake is reported with its step, its field
// and a fix.
func TestBadDescriptions(t *testing.T) {
	t.Parallel()
	base := readEquifaxYAML(t)
	cases := []struct {
		name           string
		edit           func(string) string
		where, says    string
		fixMentions    string
		secretNotShown bool
	}{
		{
			name:  "unknown template variable",
			edit:  func(s string) string { return strings.Replace(s, "{{.token.accessToken}}", "{{.token.acessToken}}", 1) },
			where: "steps.describe.headers.Authorization", says: `unknown variable: map has no entry for key "acessToken"`,
			fixMentions: ".token.accessToken",
		},
		{
			name: "unknown setting",
			edit: func(s string) string {
				return strings.Replace(s, "{{.settings.tokenPath}}", "{{.settings.tokenpath}}", 1)
			},
			where: "steps.token.url", says: `"tokenpath"`, fixMentions: ".settings",
		},
		{
			name: "reset header that is no header name",
			edit: func(s string) string {
				return strings.Replace(s, "  maxRetryAfter: 2m", "  maxRetryAfter: 2m\n  resetHeader: \"Rate Reset:\"", 1)
			},
			where: "retry.resetHeader", says: "is not a header name", fixMentions: "X-Rate-Limit-Reset",
		},
		{
			name: "secret in a query",
			edit: func(s string) string {
				return strings.Replace(s, "/secrets\"\n    headers:", "/secrets?key={{.client.secret}}\"\n    headers:", 1)
			},
			where: "steps.describe.url", says: "puts a secret into the URL", fixMentions: "header",
		},
		{
			name: "secret in a query through a function",
			edit: func(s string) string {
				return strings.Replace(s, "/secrets\"\n    headers:", "/secrets?key={{urlquery .token.accessToken}}\"\n    headers:", 1)
			},
			where: "steps.describe.url", says: "puts a secret into the URL", fixMentions: "body",
		},
		{
			name:  "JSONPath that does not parse",
			edit:  func(s string) string { return strings.Replace(s, "secrets: $.secrets[*]", "secrets: $.secrets[*", 1) },
			where: "steps.describe.result.secrets", says: "is not an RFC 9535 JSONPath", fixMentions: "$.secrets[*]",
		},
		{
			name: "missing required step",
			edit: func(s string) string {
				i := strings.Index(s, "  revoke:\n")
				return s[:i]
			},
			where: "steps.revoke.", says: "is a required step and is missing", fixMentions: "steps.revoke",
		},
		{
			name:  "unknown error kind",
			edit:  func(s string) string { return strings.Replace(s, `"409.03": last_secret`, `"409.03": last`, 1) },
			where: "errors.409.03", says: `"last" is not a kind`, fixMentions: "last_secret",
		},
		{
			name:  "replays without an idempotency header",
			edit:  func(s string) string { return strings.Replace(s, "    idempotencyHeader: Idempotency-Key\n", "", 1) },
			where: "steps.create.idempotencyHeader", says: "rules.replays", fixMentions: "Idempotency-Key",
		},
		{
			name: "JSONPath that cannot match the response schema",
			edit: func(s string) string {
				return withOpenAPI(strings.Replace(s, "value: $.secret.clientSecret", "value: $.secret.clientSecrt", 1))
			},
			where: "steps.create.result.secret.value", says: `the schema has no property "clientSecrt"`, fixMentions: "schema",
		},
		{
			name: "JSONPath into a list as if it were an object",
			edit: func(s string) string {
				return withOpenAPI(strings.Replace(s, "secrets: $.secrets[*]", "secrets: $.secrets.items[*]", 1))
			},
			where: "steps.describe.result.secrets", says: `is read from a value of type array`, fixMentions: "schema",
		},
		{
			name:  "request that matches no operation",
			edit:  func(s string) string { return withOpenAPI(strings.Replace(s, "method: DELETE", "method: POST", 1)) },
			where: "steps.revoke.url", says: "matches no operation", fixMentions: "DELETE /business/security/v1/clients/{clientId}/secrets/{secretId}",
		},
		{
			name: "error match with an unknown kind",
			edit: func(s string) string {
				return s + "errorMatches:\n  - {code: \"409.01\", contains: limit, kind: too_many}\n"
			},
			where: "errorMatches[0].kind", says: `"too_many" is not a kind`, fixMentions: "too_many_secrets",
		},
		{
			name:  "error match without a text",
			edit:  func(s string) string { return s + "errorMatches:\n  - {code: \"409.01\", kind: too_many_secrets}\n" },
			where: "errorMatches[0].contains", says: "is missing", fixMentions: "message",
		},
		{
			name: "newest active without creation times",
			edit: func(s string) string {
				return strings.Replace(strings.Replace(s, "  force: true ", "  newestActive: true\n  force: true ", 1), "        createdAt: $.createdAt\n", "", 1)
			},
			where: "steps.describe.result.each.createdAt", says: "rules.newestActive", fixMentions: "$.created",
		},
		{
			name:  "range is refused",
			edit:  func(s string) string { return strings.Replace(s, `{{json (dict`, `{{range 5}}x{{end}}{{json (dict`, 1) },
			where: "steps.create.body", says: "range and template are not allowed", fixMentions: "text/template",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := httpprov.Parse([]byte(c.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			err = httpprov.Validate(d, nil, nil)
			var ve *httpprov.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			var found bool
			for _, p := range ve.Problems {
				s := p.String()
				if strings.HasPrefix(s, c.where) && strings.Contains(s, c.says) {
					found = true
					if p.Fix == "" || !strings.Contains(p.Fix, c.fixMentions) {
						t.Errorf("fix %q does not mention %q", p.Fix, c.fixMentions)
					}
				}
			}
			if !found {
				t.Fatalf("no problem at %s saying %q in:\n%v", c.where, c.says, err)
			}
		})
	}
}

func TestParseRefusesUnknownFields(t *testing.T) {
	t.Parallel()
	_, err := httpprov.Parse([]byte("name: x\nsteps:\n  describe:\n    url: http://x\n    sucessCodes: [200]\n"))
	if err == nil || !strings.Contains(err.Error(), "sucessCodes") {
		t.Fatalf("err = %v, want the unknown field named", err)
	}
}

// withOpenAPI points the description's openapi at the example's file by an
// absolute path, for descriptions parsed from bytes.
func withOpenAPI(s string) string {
	abs, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "providers", "equifax-rest.openapi.yaml"))
	if err != nil {
		panic(err)
	}
	return strings.Replace(s, "openapi: equifax-rest.openapi.yaml", "openapi: "+abs, 1)
}

// TestOktaDescriptionHeldToOktasDocument: okta.yaml's requests and result
// queries are checked against Okta's own OpenAPI description (the vendored
// cut of okta-management-openapi-spec): a request Okta has no operation
// for, and a query for a field Okta's schema lacks, fail config validate.
func TestOktaDescriptionHeldToOktasDocument(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "providers", "okta.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "providers", "okta.openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(string(b), "openapi: okta.openapi.yaml", "openapi: "+abs, 1)
	if base == string(b) {
		t.Fatal("okta.yaml names no okta.openapi.yaml")
	}
	for _, c := range []struct {
		name, from, to, where, says, fixMentions string
	}{
		{"retire is Okta's deactivate", "}}/lifecycle/deactivate\"", "}}/lifecycle/retire\"",
			"steps.retire.url", "matches no operation", "POST /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/deactivate"},
		{"a field Okta does not answer with", "value: $.client_secret", "value: $.clientSecret",
			"steps.create.result.secret.value", `the schema has no property "clientSecret"`, "schema"},
		{"a token path Okta does not have", "/oauth2/{{pathescape .settings.authorizationServer}}/v1/token", "/oauth2/{{pathescape .settings.authorizationServer}}/v1/tokens",
			"steps.verify.url", "matches no operation", "POST /oauth2/{authorizationServerId}/v1/token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			edited := strings.Replace(base, c.from, c.to, 1)
			if edited == base {
				t.Fatalf("okta.yaml has no %q", c.from)
			}
			d, err := httpprov.Parse([]byte(edited))
			if err != nil {
				t.Fatal(err)
			}
			err = httpprov.Validate(d, nil, []string{"apiToken"})
			var ve *httpprov.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			var found bool
			for _, p := range ve.Problems {
				if s := p.String(); strings.HasPrefix(s, c.where) && strings.Contains(s, c.says) {
					found = true
					if !strings.Contains(p.Fix, c.fixMentions) {
						t.Errorf("fix %q does not mention %q", p.Fix, c.fixMentions)
					}
				}
			}
			if !found {
				t.Fatalf("no problem at %s saying %q in:\n%v", c.where, c.says, err)
			}
		})
	}
	d, err := httpprov.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := httpprov.Validate(d, nil, []string{"apiToken"}); err != nil {
		t.Fatalf("okta.yaml as shipped: %v", err)
	}
}
