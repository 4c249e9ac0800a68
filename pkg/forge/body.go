package forge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// StateVersion is the version of the state marker RenderBody writes.
const StateVersion = 1

// MaxStateSize caps the JSON inside the state marker that ParseState reads.
// GitHub caps a body at 65,536 characters; a marker close to that is not
// credrotate's.
const MaxStateSize = 60 << 10

// MaxBodySize is the longest pull request body GitHub accepts, in characters.
const MaxBodySize = 65536

// maxFullMarker is the size above which the marker leaves out the
// environments' files, which the pull request's diff lists anyway.
const maxFullMarker = 16 << 10

const (
	markerOpen  = "<!-- credrotate:state "
	markerClose = "-->"
)

// RotationState is what a rotation pull request carries for the next run:
// which secrets it proposes, where, and for which run. It holds ids and
// fingerprints only, never a secret.
type RotationState struct {
	Version int        `json:"version"`
	TraceID string     `json:"traceId"`
	Command string     `json:"command,omitempty"`
	Keys    []KeyState `json:"keys"`
	// MockSafe says the secrets are mock-safe inventions that Equifax does
	// not know: the pull request must not be merged.
	MockSafe bool `json:"mockSafe,omitempty"`
}

// KeyState is one provider key's rotation in a pull request.
type KeyState struct {
	ProviderKey string `json:"providerKey"`
	ClientID    string `json:"clientId,omitempty"`
	// NewSecretID is the secret the pull request seals; OldSecretID the one
	// it replaces (revoked once the rollout is observed).
	NewSecretID  string    `json:"newSecretId"`
	OldSecretID  string    `json:"oldSecretId,omitempty"`
	Fingerprint  string    `json:"fingerprint,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt"`
	Environments []EnvFile `json:"environments,omitempty"`
	// Emergency says the rotation was asked for with --emergency (a
	// leaked secret): renewed with force, the old secret revoked as soon as
	// the rollout is observed.
	Emergency bool `json:"emergency,omitempty"`
}

// Emergency reports whether any key of the rotation is an emergency.
func (s RotationState) Emergency() bool {
	for _, k := range s.Keys {
		if k.Emergency {
			return true
		}
	}
	return false
}

// maxTitle is the longest title RenderTitle names every key in.
const maxTitle = 120

// RenderTitle renders a rotation pull request's title from the same state
// as its body: the keys it rotates (or how many), marked when it is an
// emergency or mock-safe.
func RenderTitle(s RotationState) string {
	keys := make([]string, 0, len(s.Keys))
	for _, k := range s.Keys {
		keys = append(keys, k.ProviderKey)
	}
	sort.Strings(keys)
	title := "credrotate: rotate " + strings.Join(keys, ", ")
	if len(title) > maxTitle {
		title = fmt.Sprintf("credrotate: rotate %d credentials", len(keys))
	}
	if s.Emergency() {
		title = "[emergency] " + title
	}
	if s.MockSafe {
		// The secrets are mock-safe inventions: merging them would deploy
		// secrets Equifax does not know.
		title = "[mock-safe, do not merge] " + title
	}
	return title
}

// EnvFile is one environment's sealed file.
type EnvFile struct {
	Env  string `json:"env"`
	Path string `json:"path"`
}

// ErrStateMarker reports a state marker that cannot be trusted: malformed,
// too large, duplicated, of an unknown version, or with bad content.
var ErrStateMarker = errors.New("invalid credrotate state marker")

var fingerprintRe = regexp.MustCompile(`^sha256:[0-9a-f]{16}$`)

// RenderBody renders a rotation pull request's body: what is rotated (a
// table of provider keys x environments with secret id, fingerprint, expiry
// and file), the trace id and command of the run, and a hidden marker with
// the state as JSON that ParseState reads back.
func RenderBody(s RotationState) string {
	if s.Version == 0 {
		s.Version = StateVersion
	}
	keys := append([]KeyState(nil), s.Keys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].ProviderKey < keys[j].ProviderKey })
	s.Keys = keys

	var b strings.Builder
	b.WriteString("## credrotate: credential rotation\n\n")
	switch len(keys) {
	case 0:
		b.WriteString("This pull request updates sealed credentials.\n\n")
	case 1:
		fmt.Fprintf(&b, "This pull request rotates the client secret of %s. Merge it to roll the new secret out; the old secret stays valid until the rollout is observed, then credrotate revokes it.\n\n", code(keys[0].ProviderKey))
	default:
		fmt.Fprintf(&b, "This pull request rotates %d client secrets. Merge it to roll the new secrets out; the old secrets stay valid until the rollout is observed, then credrotate revokes them.\n\n", len(keys))
	}
	if s.Emergency() {
		b.WriteString("**Emergency rotation** (`--emergency`): the secret was renewed at once, whatever its renewal window, because the one in use may be leaked. Merge as soon as the checks pass: once the rollout is observed, credrotate revokes the old secret at once.\n\n")
	}
	if s.MockSafe {
		b.WriteString("**Mock-safe run: do not merge.** Nothing was changed at Equifax; these secrets are inventions it does not know.\n\n")
	}
	mark := marker(s)
	if len(mark) > maxFullMarker {
		// Many keys: the files are listed in the pull request's diff, so
		// the marker keeps only what the next run needs.
		compact := s
		compact.Keys = make([]KeyState, len(keys))
		for i, k := range keys {
			k.Environments = nil
			compact.Keys[i] = k
		}
		mark = marker(compact)
	}
	// GitHub refuses a body over MaxBodySize characters: the table gets
	// what the marker and the rest leave.
	tableBudget := MaxBodySize - len(mark) - 4096
	if len(keys) > 0 {
		b.WriteString("| Provider key | Environment | Secret ID | Fingerprint | Expires | File |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		rows, shown := 0, 0
		for _, k := range keys {
			rows += max(len(k.Environments), 1)
		}
	table:
		for _, k := range keys {
			envs := k.Environments
			if len(envs) == 0 {
				envs = []EnvFile{{}}
			}
			exp := "—"
			if !k.ExpiresAt.IsZero() {
				exp = k.ExpiresAt.UTC().Format(time.RFC3339)
			}
			for _, e := range envs {
				row := fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n",
					code(k.ProviderKey), cell(e.Env), code(k.NewSecretID), code(k.Fingerprint), exp, code(e.Path))
				if b.Len()+len(row) > tableBudget {
					fmt.Fprintf(&b, "\n… and %d more rows: see the files changed.\n", rows-shown)
					break table
				}
				b.WriteString(row)
				shown++
			}
		}
		b.WriteString("\n")
		var retiring []string
		for _, k := range keys {
			if k.OldSecretID != "" {
				retiring = append(retiring, fmt.Sprintf("%s: %s", code(k.ProviderKey), code(k.OldSecretID)))
			}
		}
		if len(retiring) > 0 && len(retiring) <= 50 {
			fmt.Fprintf(&b, "Retiring secrets (revoked after the rollout): %s\n\n", strings.Join(retiring, ", "))
		}
	}
	if s.TraceID != "" {
		fmt.Fprintf(&b, "**Trace ID:** %s  \n", code(s.TraceID))
	}
	if s.Command != "" {
		fmt.Fprintf(&b, "**Command:** %s  \n", code(s.Command))
	}
	b.WriteString("\n<sub>Opened by credrotate. Edits to this text are fine; keep the hidden state marker below.</sub>\n\n")
	b.WriteString(mark)
	b.WriteString("\n")
	return b.String()
}

// marker renders the hidden state marker. encoding/json escapes '<' and '>'
// (as \u003c, \u003e), so no value can close the HTML comment early.
func marker(s RotationState) string {
	data, err := json.Marshal(s)
	if err != nil {
		// RotationState has only strings, ints and times: Marshal cannot
		// fail on it.
		panic(err)
	}
	return markerOpen + string(data) + " " + markerClose
}

// ParseState reads the state marker back from a pull request body. found is
// false (and err nil) when the body has no marker. Text around the marker may
// be edited freely; the JSON inside must be exactly what RenderBody writes:
// one marker, strict JSON with known fields only, a known version, at most
// MaxStateSize bytes, fingerprints in their public form.
func ParseState(body string) (s RotationState, found bool, err error) {
	i := strings.Index(body, markerOpen)
	if i < 0 {
		return RotationState{}, false, nil
	}
	if strings.Contains(body[i+len(markerOpen):], markerOpen) {
		return RotationState{}, true, fmt.Errorf("%w: more than one marker", ErrStateMarker)
	}
	rest := body[i+len(markerOpen):]
	j := strings.Index(rest, markerClose)
	if j < 0 {
		return RotationState{}, true, fmt.Errorf("%w: unterminated marker", ErrStateMarker)
	}
	raw := strings.TrimSpace(rest[:j])
	if len(raw) > MaxStateSize {
		return RotationState{}, true, fmt.Errorf("%w: %d bytes, more than %d", ErrStateMarker, len(raw), MaxStateSize)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return RotationState{}, true, fmt.Errorf("%w: %v", ErrStateMarker, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return RotationState{}, true, fmt.Errorf("%w: trailing data after the JSON object", ErrStateMarker)
	}
	if err := s.validate(); err != nil {
		return RotationState{}, true, fmt.Errorf("%w: %v", ErrStateMarker, err)
	}
	return s, true, nil
}

func (s RotationState) validate() error {
	if s.Version != StateVersion {
		return fmt.Errorf("version %d, this credrotate reads version %d", s.Version, StateVersion)
	}
	seen := map[string]bool{}
	for i, k := range s.Keys {
		if k.ProviderKey == "" {
			return fmt.Errorf("key %d has no providerKey", i)
		}
		if seen[k.ProviderKey] {
			return fmt.Errorf("provider key %q appears twice", k.ProviderKey)
		}
		seen[k.ProviderKey] = true
		if k.NewSecretID == "" {
			return fmt.Errorf("provider key %q has no newSecretId", k.ProviderKey)
		}
		if k.Fingerprint != "" && !fingerprintRe.MatchString(k.Fingerprint) {
			return fmt.Errorf("provider key %q: fingerprint is not sha256:<16 hex>", k.ProviderKey)
		}
	}
	return nil
}

// code renders s as inline code in a table cell.
func code(s string) string {
	if s == "" {
		return "—"
	}
	if strings.ContainsAny(s, "<>") {
		// inside a code span an entity shows as typed: fall back to plain
		// text, so no value can open or close an HTML comment.
		return cell(s)
	}
	s = strings.NewReplacer("`", "'", "|", "\\|", "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}

// cell renders s as plain text in a table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
