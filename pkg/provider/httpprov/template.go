package httpprov

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/credrotate/credrotate/pkg/credential/assertion"
)

// maxRendered caps what one template may render (a URL, a header, a body).
const maxRendered = 64 << 10

// funcs are the functions templates may call.
var funcs = template.FuncMap{
	// b64enc is standard base64 of its string.
	"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	// json is the JSON encoding of its value.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", errors.New("json: value cannot be encoded")
		}
		return string(b), nil
	},
	// urlquery escapes its string for a URL query or a form body.
	"urlquery": url.QueryEscape,
	// pathescape escapes its string for one URL path segment.
	"pathescape": url.PathEscape,
	// privateKeyJWT signs a client assertion (private_key_jwt, RFC 7523)
	// with a PEM private key (a .secrets entry): issued by and about
	// clientID, for the token endpoint audience, valid five minutes, with
	// a fresh jti; an optional fourth argument is the key id (kid).
	"privateKeyJWT": privateKeyJWT,
	// dict builds a map from key, value pairs, leaving out empty values
	// (0, false, ""), for a JSON body with optional fields.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict: keys must be strings")
			}
			if v := kv[i+1]; v != nil && !reflect.ValueOf(v).IsZero() {
				m[k] = v
			}
		}
		return m, nil
	},
}

// secretVars are the template variables that hold secrets.
var secretVars = []string{"client.secret", "new.secret", "token.accessToken", "secrets"}

// tmpl is one compiled template and whether it refers to a secret.
type tmpl struct {
	t      *template.Template
	secret bool
}

// compiled is a step's templates.
type compiled struct {
	url     tmpl
	headers map[string]tmpl
	body    *tmpl
}

func compileTemplate(name, text string) (tmpl, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return tmpl{}, err
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return tmpl{}, errors.New("the template is empty")
	}
	if len(t.Templates()) > 1 {
		return tmpl{}, errors.New("define and block are not allowed: a template renders one value")
	}
	bad := false
	walk(t.Tree.Root, func(n parse.Node) {
		switch n.(type) {
		case *parse.RangeNode, *parse.TemplateNode:
			bad = true
		}
	})
	if bad {
		return tmpl{}, errors.New("range and template are not allowed: a template renders one value")
	}
	return tmpl{t: t, secret: refersToSecret(t.Tree.Root)}, nil
}

// render executes t over data, bounded in size. Its errors never quote a
// value.
func (t tmpl) render(data map[string]any) (string, error) {
	var b limitedBuffer
	if err := t.t.Execute(&b, data); err != nil {
		return "", templateError(err)
	}
	return b.String(), nil
}

// templateError keeps the template's position and the variable it missed,
// never a rendered value.
func templateError(err error) error {
	var ee template.ExecError
	if errors.As(err, &ee) {
		msg := ee.Err.Error()
		if i := strings.Index(msg, "map has no entry for key"); i >= 0 {
			return fmt.Errorf("template refers to an unknown variable: %s", msg[i:])
		}
		if strings.Contains(msg, "rendered value too large") {
			return errRenderTooLarge
		}
		// Function errors are ours and name no value; other messages
		// may quote one.
		for _, f := range []string{"json:", "dict:", "privateKeyJWT:"} {
			if strings.Contains(msg, f) {
				return fmt.Errorf("template: %s", msg[strings.Index(msg, f):])
			}
		}
		return fmt.Errorf("template %s failed", ee.Name)
	}
	if errors.Is(err, errRenderTooLarge) {
		return errRenderTooLarge
	}
	return errors.New("template failed")
}

var errRenderTooLarge = fmt.Errorf("rendered value too large (over %d bytes)", maxRendered)

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errRenderTooLarge
	}
	return b.Buffer.Write(p)
}

// refersToSecret reports whether a template's tree names a secret variable
// or reaches into the data with index (which could name one).
func refersToSecret(n parse.Node) bool {
	found := false
	walk(n, func(n parse.Node) {
		switch x := n.(type) {
		case *parse.FieldNode:
			if isSecretPath(strings.Join(x.Ident, ".")) {
				found = true
			}
		case *parse.ChainNode:
			var ids []string
			if f, ok := x.Node.(*parse.FieldNode); ok {
				ids = append(ids, f.Ident...)
			}
			if isSecretPath(strings.Join(append(ids, x.Field...), ".")) {
				found = true
			}
		case *parse.IdentifierNode:
			if x.Ident == "index" {
				found = true
			}
		case *parse.DotNode:
			// A bare dot handed on passes everything.
			found = true
		case *parse.VariableNode:
			if len(x.Ident) == 1 || isSecretPath(strings.Join(x.Ident[1:], ".")) {
				found = true
			}
		}
	})
	return found
}

func isSecretPath(p string) bool {
	for _, s := range secretVars {
		if p == s || strings.HasPrefix(p, s+".") || (s == "secrets" && strings.HasPrefix(p, "secrets")) {
			return true
		}
		// .client alone passes the secret too.
		if i := strings.Index(s, "."); i > 0 && p == s[:i] {
			return true
		}
	}
	return false
}

func walk(n parse.Node, f func(parse.Node)) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return
	}
	f(n)
	switch x := n.(type) {
	case *parse.ListNode:
		for _, c := range x.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		walk(x.Pipe, f)
	case *parse.PipeNode:
		for _, c := range x.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walk(a, f)
		}
	case *parse.ChainNode:
		walk(x.Node, f)
	case *parse.IfNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.RangeNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.WithNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.TemplateNode:
		walk(x.Pipe, f)
	}
}

// privateKeyJWT is the template function of that name. Checked against
// placeholder data (a description's validation), the key is a marker and
// the assertion one too, so that a URL that would carry it is refused.
func privateKeyJWT(key, clientID, audience string, keyID ...string) (string, error) {
	if strings.HasPrefix(key, markSource) {
		return markSource + "assertion", nil
	}
	if clientID == "" || audience == "" {
		return "", errors.New("privateKeyJWT: the client id and the audience (the token endpoint) are required")
	}
	if len(keyID) > 1 {
		return "", errors.New("privateKeyJWT: at most one key id")
	}
	signer, err := assertion.ParsePrivateKey([]byte(key))
	if err != nil {
		return "", errors.New("privateKeyJWT: the key is not a PEM RSA or EC private key (PKCS #8, PKCS #1 or SEC 1)")
	}
	kid := ""
	if len(keyID) == 1 {
		kid = keyID[0]
	}
	a, err := assertion.Sign(signer, clientID, audience, kid, time.Now())
	if err != nil {
		return "", errors.New("privateKeyJWT: the key cannot sign (RSA or ECDSA P-256)")
	}
	return a, nil
}
