// Package inventory is the expiry inventory: every credential the configured
// providers report, managed by credrotate or not, with its expiry, age and
// days left, and for an unmanaged one the command that brings it under
// management. Build is a pure function of what was observed; the renderers
// print it as a table, JSON or Markdown.
package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

// Managed is one configured provider key as its provider described it.
type Managed struct {
	Key      credential.ProviderKey
	Type     string
	ClientID string
	Info     provider.ClientInfo
	// Err is why the provider could not describe it.
	Err error
}

// Scope is what one provider type listed beyond the configured keys.
type Scope struct {
	Type    string
	Clients []provider.Listed
	// Err is why the listing failed; Unsupported says the provider has
	// no listing (Equifax: the configured clients are its inventory).
	Err         error
	Unsupported bool
}

// Row is one credential.
type Row struct {
	Type        string                 `json:"type"`
	ProviderKey credential.ProviderKey `json:"providerKey,omitempty"`
	ClientID    string                 `json:"clientId"`
	Name        string                 `json:"name,omitempty"`
	SecretID    string                 `json:"secretId,omitempty"`
	Status      provider.Status        `json:"status,omitempty"`
	CreatedAt   *time.Time             `json:"createdAt,omitempty"`
	ExpiresAt   *time.Time             `json:"expiresAt,omitempty"`
	// AgeDays and DaysLeft are whole days, rounded down; DaysLeft is
	// negative for an expired secret and absent without an expiry.
	AgeDays  *int `json:"ageDays,omitempty"`
	DaysLeft *int `json:"daysLeft,omitempty"`
	Managed  bool `json:"managed"`
	// Adopt is the command that brings an unmanaged credential under
	// credrotate.
	Adopt string `json:"adopt,omitempty"`
	// Error is why the credential could not be read.
	Error string `json:"error,omitempty"`
}

// Inventory is every row, soonest expiry first, and the problems met.
type Inventory struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Rows        []Row     `json:"credentials"`
	// Problems name a provider type or key that could not be read.
	Problems []string `json:"problems,omitempty"`
}

// Build makes the inventory of managed keys and listed scopes at now. A
// listed client that is a configured key's (the same type and client id)
// is the managed row, not a second one; a foreign secret of a managed
// client (provider.SecretInfo.Foreign) is an unmanaged row. Only valid
// secrets are listed; revoked and expired ones are history.
func Build(now time.Time, managed []Managed, scopes []Scope) Inventory {
	inv := Inventory{GeneratedAt: now.UTC()}
	type id struct{ typ, client string }
	seen := map[id]bool{}
	for _, m := range managed {
		seen[id{m.Type, m.ClientID}] = true
		if m.Err != nil {
			inv.Rows = append(inv.Rows, Row{Type: m.Type, ProviderKey: m.Key, ClientID: m.ClientID, Managed: true, Error: m.Err.Error()})
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s (%s): %v", m.Key, m.Type, m.Err))
			continue
		}
		for _, s := range m.Info.Secrets {
			if !s.Status.Valid() {
				continue
			}
			r := row(now, m.Type, m.ClientID, "", s)
			if s.Foreign {
				// Another's secret on a managed client: listed, not
				// credrotate's, and nothing to adopt (the client is).
				r.Name = "not made by credrotate (" + string(m.Key) + ")"
				inv.Rows = append(inv.Rows, r)
				continue
			}
			r.ProviderKey, r.Managed = m.Key, true
			inv.Rows = append(inv.Rows, r)
		}
	}
	for _, sc := range scopes {
		if sc.Unsupported {
			continue
		}
		if sc.Err != nil {
			inv.Problems = append(inv.Problems, fmt.Sprintf("listing %s: %v", sc.Type, sc.Err))
			continue
		}
		for _, c := range sc.Clients {
			if seen[id{sc.Type, c.ClientID}] {
				continue
			}
			for _, s := range c.Secrets {
				if !s.Status.Valid() {
					continue
				}
				r := row(now, sc.Type, c.ClientID, c.Name, s)
				r.Adopt = adoptCommand(sc.Type, c.ClientID)
				inv.Rows = append(inv.Rows, r)
			}
		}
	}
	sort.SliceStable(inv.Rows, func(i, j int) bool {
		a, b := inv.Rows[i], inv.Rows[j]
		switch {
		case a.ExpiresAt == nil || b.ExpiresAt == nil:
			if (a.ExpiresAt == nil) != (b.ExpiresAt == nil) {
				return a.ExpiresAt != nil
			}
		case !a.ExpiresAt.Equal(*b.ExpiresAt):
			return a.ExpiresAt.Before(*b.ExpiresAt)
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.ClientID != b.ClientID {
			return a.ClientID < b.ClientID
		}
		return a.SecretID < b.SecretID
	})
	return inv
}

func row(now time.Time, typ, clientID, name string, s provider.SecretInfo) Row {
	r := Row{Type: typ, ClientID: clientID, Name: name, SecretID: s.SecretID, Status: s.Status}
	if name == "" {
		r.Name = s.Name
	}
	if !s.CreatedAt.IsZero() {
		c := s.CreatedAt.UTC()
		age := int(now.Sub(c).Hours() / 24)
		r.CreatedAt, r.AgeDays = &c, &age
	}
	if until := s.ValidUntil(); !until.IsZero() {
		e := until.UTC()
		left := int(math.Floor(e.Sub(now).Hours() / 24))
		r.ExpiresAt, r.DaysLeft = &e, &left
	}
	return r
}

// adoptCommand is how a person brings an unmanaged credential under
// credrotate: configure the key, then adopt its current secret.
func adoptCommand(typ, clientID string) string {
	return fmt.Sprintf("add {key: %s.%s, type: %s, clientID: %s, ...} to providers, then: credrotate adopt --provider-key %s.%s < secret", typ, keySafe(clientID), typ, clientID, typ, keySafe(clientID))
}

// keySafe turns a client id into a provider-key part.
func keySafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return b.String()
}

// Expiring counts the rows that expire within d of the inventory's time.
func (inv Inventory) Expiring(d time.Duration) int {
	n := 0
	for _, r := range inv.Rows {
		if r.ExpiresAt != nil && r.ExpiresAt.Before(inv.GeneratedAt.Add(d)) {
			n++
		}
	}
	return n
}

// JSON writes the inventory as indented JSON.
func (inv Inventory) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(inv)
}

// Table writes the inventory for a terminal.
func (inv Inventory) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tPROVIDER KEY\tCLIENT\tSECRET\tEXPIRES\tDAYS LEFT\tAGE\tMANAGED")
	for _, r := range inv.Rows {
		key := string(r.ProviderKey)
		if key == "" {
			key = "-"
		}
		client := r.ClientID
		if r.Name != "" && r.Name != r.ClientID {
			client += " (" + r.Name + ")"
		}
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\tyes (not read: %s)\n", r.Type, key, client, r.Error)
			continue
		}
		managed := "yes"
		if !r.Managed {
			managed = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Type, key, client, r.SecretID, date(r.ExpiresAt), days(r.DaysLeft), days(r.AgeDays), managed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range inv.Rows {
		if r.Adopt != "" {
			fmt.Fprintf(w, "\nTo bring an unmanaged credential under credrotate, e.g. %s:\n  %s\n", r.ClientID, r.Adopt)
			break
		}
	}
	for _, p := range inv.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	return nil
}

// Markdown writes the inventory as a GitHub Flavored Markdown table.
func (inv Inventory) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "| Type | Provider key | Client | Secret | Expires | Days left | Age | Managed |\n| --- | --- | --- | --- | --- | ---: | ---: | --- |\n")
	for _, r := range inv.Rows {
		key := "—"
		if r.ProviderKey != "" {
			key = "`" + string(r.ProviderKey) + "`"
		}
		client := mdEscape(r.ClientID)
		if r.Name != "" && r.Name != r.ClientID {
			client += " (" + mdEscape(r.Name) + ")"
		}
		if r.Error != "" {
			fmt.Fprintf(w, "| %s | %s | %s | — | — | — | — | yes (not read) |\n", r.Type, key, client)
			continue
		}
		managed := "yes"
		if !r.Managed {
			managed = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | `%s` | %s | %s | %s | %s |\n", r.Type, key, client, mdEscape(r.SecretID), date(r.ExpiresAt), days(r.DaysLeft), days(r.AgeDays), managed)
	}
	for _, p := range inv.Problems {
		fmt.Fprintf(w, "\n> problem: %s\n", mdEscape(p))
	}
	return nil
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

func date(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.DateOnly)
}

func days(d *int) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprint(*d)
}
