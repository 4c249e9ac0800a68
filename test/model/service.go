package model

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/internal/sandbox/entraemu"
	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
	"github.com/credrotate/credrotate/internal/sandbox/oktaemu"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/provider"
	"github.com/credrotate/credrotate/pkg/provider/entra"
	"github.com/credrotate/credrotate/pkg/provider/gcpkey"
	"github.com/credrotate/credrotate/pkg/provider/okta"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// Providers are the provider types the model check explores, Equifax first.
var Providers = []string{"equifax", "entra", "okta", "gcpkey"}

// service is a provider's emulator as a world drives it: its clock is the
// world's, it is seeded with one client per key, it says which secrets it
// accepts, and it is cloned with the world.
type service interface {
	// name is the provider type; the keys are named after it and it is the
	// Server of the runs' calls to it.
	name() string
	handler() http.Handler
	now() time.Time
	advance(d time.Duration)
	// seed creates the client of key i with one secret that stops being
	// valid after expiresIn.
	seed(i int, expiresIn time.Duration) (seeded, error)
	// accepts reports whether the service takes value as clientID's secret
	// now.
	accepts(clientID, value string) bool
	// info is the service's own view of clientID's secrets: every secret
	// it holds, and each of ids (the ones handed out for clientID) that it
	// has removed, as REVOKED.
	info(clientID string, ids []string) provider.ClientInfo
	clone() service
	// client is the provider the runs use, talking to the service through
	// rt.
	client(rt http.RoundTripper, log *logrus.Entry, now func() time.Time) (rotate.Provider, error)
	// opName names a request, for the run's events.
	opName(req *http.Request) string
	// waitsPass says the runs' waits move the clock (a new secret needs
	// time to start working); Equifax's runs wait in planned time only.
	waitsPass() bool
}

// seeded is a client as seed made it.
type seeded struct {
	key       credential.ProviderKey
	clientID  string
	secretID  string
	value     string
	expiresAt time.Time
	dataKey   string
}

// newService makes the emulator of provider type prov, at the model's start.
func newService(prov string) (service, error) {
	switch prov {
	case "", "equifax":
		return &equifaxSvc{emu: emulator.New(emulator.Options{Start: start})}, nil
	case "entra":
		return &entraSvc{emu: entraemu.New(entraemu.Options{Start: start, Propagation: entraPropagation})}, nil
	case "okta":
		return &oktaSvc{emu: oktaemu.New(oktaemu.Options{Start: start, APIToken: oktaToken})}, nil
	case "gcpkey":
		return newGCPSvc()
	}
	return nil, fmt.Errorf("the model knows no provider type %q", prov)
}

// Each provider's client gives up at once: a run's retries are the
// provider's own, counted but not waited for.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// --- Equifax

const (
	mgmtScope   = emulator.DefaultManagementScope
	emulatorURL = "http://equifax.model"
)

type equifaxSvc struct{ emu *emulator.Emulator }

func (s *equifaxSvc) name() string            { return "equifax" }
func (s *equifaxSvc) handler() http.Handler   { return s.emu }
func (s *equifaxSvc) now() time.Time          { return s.emu.Now() }
func (s *equifaxSvc) advance(d time.Duration) { s.emu.Advance(d) }
func (s *equifaxSvc) clone() service          { return &equifaxSvc{emu: s.emu.Clone()} }
func (s *equifaxSvc) waitsPass() bool         { return false }
func (s *equifaxSvc) accepts(clientID, value string) bool {
	return s.emu.Accepts(clientID, value)
}

func (s *equifaxSvc) seed(i int, expiresIn time.Duration) (seeded, error) {
	k := seeded{key: credential.ProviderKey(fmt.Sprintf("equifax.client_%d", i)), clientID: fmt.Sprintf("0oamodel%04d", i), dataKey: "client_secret"}
	k.value = fmt.Sprintf("CANARY-seed-%d-%s", i, randHex(12))
	info, err := s.emu.SeedClient(k.clientID, k.value, s.now().Add(expiresIn))
	k.secretID, k.expiresAt = info.SecretID, info.ExpiresAt
	return k, err
}

func (s *equifaxSvc) info(clientID string, _ []string) provider.ClientInfo {
	info, _ := s.emu.Client(clientID)
	return info
}

func (s *equifaxSvc) client(rt http.RoundTripper, log *logrus.Entry, _ func() time.Time) (rotate.Provider, error) {
	c, err := rest.New(rest.Options{
		BaseURL: emulatorURL, ManagementScope: mgmtScope, HTTPClient: &http.Client{Transport: rt},
		Timeout: 10 * time.Second, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond, Logger: log.WithField("transport", "rest"),
	})
	if err != nil {
		return nil, err
	}
	return equifax.AsProvider(c, mgmtScope), nil
}

func (s *equifaxSvc) opName(req *http.Request) string {
	switch {
	case strings.HasSuffix(req.URL.Path, emulator.TokenPath):
		return "token"
	case req.Method == http.MethodGet:
		return "describe"
	case req.Method == http.MethodPost:
		return "renew"
	case req.Method == http.MethodDelete:
		return "revoke"
	}
	return req.Method + " " + req.URL.Path
}

// --- Entra ID

// entraPropagation is how long a new password is refused by the token
// endpoint: the proof is refused at first and retried, as against Entra.
const entraPropagation = 2 * time.Second

const entraURL = "http://entra.model"

// entraSvc is the Entra ID emulator; every application manages its own
// passwords (self-managed), as in the demo.
type entraSvc struct{ emu *entraemu.Emulator }

func (s *entraSvc) name() string            { return "entra" }
func (s *entraSvc) handler() http.Handler   { return s.emu }
func (s *entraSvc) now() time.Time          { return s.emu.Now() }
func (s *entraSvc) advance(d time.Duration) { s.emu.Advance(d) }
func (s *entraSvc) clone() service          { return &entraSvc{emu: s.emu.Clone()} }
func (s *entraSvc) waitsPass() bool         { return true }
func (s *entraSvc) accepts(clientID, value string) bool {
	return s.emu.Accepts(clientID, value)
}

func (s *entraSvc) seed(i int, expiresIn time.Duration) (seeded, error) {
	k := seeded{key: credential.ProviderKey(fmt.Sprintf("entra.app_%d", i)), clientID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), dataKey: "client_secret"}
	k.value = fmt.Sprintf("CANARY-seed-%d-%s", i, randHex(12))
	a, err := s.emu.SeedApp(entraemu.SeedSpec{AppID: k.clientID, DisplayName: fmt.Sprintf("credit-api-%d", i), Password: k.value, PasswordName: "credrotate seed", PasswordEnd: s.now().Add(expiresIn)})
	if err != nil {
		return k, err
	}
	k.secretID, k.expiresAt = a.Passwords[0].KeyID, a.Passwords[0].EndDateTime
	return k, nil
}

func (s *entraSvc) info(clientID string, ids []string) provider.ClientInfo {
	out := provider.ClientInfo{ClientID: clientID}
	a, _ := s.emu.AppByClientID(clientID)
	now := s.now()
	held := map[string]bool{}
	for _, p := range a.Passwords {
		st := provider.StatusActive
		switch {
		case !now.Before(p.EndDateTime):
			st = provider.StatusExpired
		case now.Before(p.StartDateTime):
			st = provider.StatusInactive
		}
		held[p.KeyID] = true
		out.Secrets = append(out.Secrets, provider.SecretInfo{SecretID: p.KeyID, Status: st, CreatedAt: p.StartDateTime, ExpiresAt: p.EndDateTime, Name: p.DisplayName})
	}
	for _, id := range ids {
		if !held[id] && s.emu.Removed(clientID, id) {
			out.Secrets = append(out.Secrets, provider.SecretInfo{SecretID: id, Status: provider.StatusRevoked})
		}
	}
	return out
}

func (s *entraSvc) client(rt http.RoundTripper, log *logrus.Entry, now func() time.Time) (rotate.Provider, error) {
	return entra.New(entra.Options{
		TenantID: s.emu.Tenant(), GraphURL: entraURL, LoginURL: entraURL, HTTPClient: &http.Client{Transport: rt},
		Timeout: 10 * time.Second, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond,
		Logger: log.WithField("provider", "entra"), Now: now, Sleep: noWait,
	})
}

func (s *entraSvc) opName(req *http.Request) string {
	p := req.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		return "token"
	case strings.HasSuffix(p, "addPassword"):
		return "create"
	case strings.HasSuffix(p, "removePassword"):
		return "revoke"
	case req.Method == http.MethodGet:
		return "describe"
	}
	return req.Method + " " + p
}

// --- Okta

const (
	oktaURL = "http://okta.model"
	// oktaToken is the management API token.
	oktaToken = "00model-api-token-0123456789abcdef"
	// oktaMaxAge is okta.maxAge: Okta sets no expiry, so a seeded secret
	// that should stop being valid in d was created maxAge - d ago.
	oktaMaxAge = 90 * 24 * time.Hour
)

type oktaSvc struct{ emu *oktaemu.Emulator }

func (s *oktaSvc) name() string            { return "okta" }
func (s *oktaSvc) handler() http.Handler   { return s.emu }
func (s *oktaSvc) now() time.Time          { return s.emu.Now() }
func (s *oktaSvc) advance(d time.Duration) { s.emu.Advance(d) }
func (s *oktaSvc) clone() service          { return &oktaSvc{emu: s.emu.Clone()} }
func (s *oktaSvc) waitsPass() bool         { return true }
func (s *oktaSvc) accepts(clientID, value string) bool {
	return s.emu.Accepts(clientID, value)
}

func (s *oktaSvc) seed(i int, expiresIn time.Duration) (seeded, error) {
	k := seeded{key: credential.ProviderKey(fmt.Sprintf("okta.app_%d", i)), clientID: fmt.Sprintf("0oamodel%04d", i), dataKey: "client_secret"}
	k.value = fmt.Sprintf("CANARY-seed-%d-%s", i, randHex(12))
	sec, err := s.emu.SeedApp(k.clientID, k.value, s.now().Add(expiresIn-oktaMaxAge))
	k.secretID, k.expiresAt = sec.ID, sec.Created.Add(oktaMaxAge)
	return k, err
}

func (s *oktaSvc) info(clientID string, ids []string) provider.ClientInfo {
	out := provider.ClientInfo{ClientID: clientID}
	held := map[string]bool{}
	for _, sec := range s.emu.Secrets(clientID) {
		st := provider.StatusActive
		if sec.Status != "ACTIVE" {
			st = provider.StatusInactive
		}
		held[sec.ID] = true
		out.Secrets = append(out.Secrets, provider.SecretInfo{SecretID: sec.ID, Status: st, CreatedAt: sec.Created, ExpiresAt: sec.Created.Add(oktaMaxAge)})
	}
	// Okta forgets a deleted secret; every id handed out for the app that
	// it no longer holds was deleted.
	for _, id := range ids {
		if !held[id] {
			out.Secrets = append(out.Secrets, provider.SecretInfo{SecretID: id, Status: provider.StatusRevoked})
		}
	}
	return out
}

func (s *oktaSvc) client(rt http.RoundTripper, log *logrus.Entry, now func() time.Time) (rotate.Provider, error) {
	return okta.New(okta.Options{
		OrgURL: oktaURL, Scope: "credrotate.proof", MaxAge: oktaMaxAge, APIToken: credential.NewSecret(oktaToken),
		HTTPClient: &http.Client{Transport: rt}, Timeout: 10 * time.Second, Now: now, Logger: log.WithField("provider", "okta"),
	})
}

func (s *oktaSvc) opName(req *http.Request) string {
	p := req.URL.Path
	switch {
	case strings.HasSuffix(p, "/v1/token"):
		return "token"
	case strings.HasSuffix(p, "/lifecycle/deactivate"):
		return "deactivate"
	case req.Method == http.MethodDelete:
		return "delete"
	case req.Method == http.MethodPost:
		return "create"
	case req.Method == http.MethodGet:
		return "describe"
	}
	return req.Method + " " + p
}

// --- Google Cloud service account keys

const (
	gcpURL = "http://gcp.model"
	// gcpManager is the management identity, whose key file the runs read.
	gcpManager = "credrotate@model-ops.iam.gserviceaccount.com"
	// gcpMaxKeyAge is gcp.maxKeyAge: Google keys never expire, so a seeded
	// key that should stop being valid in d was made maxKeyAge - d ago.
	gcpMaxKeyAge = 180 * 24 * time.Hour
)

type gcpSvc struct {
	emu *gcpemu.Emulator
	// credFile is the management identity's key file: its key is in the
	// emulator's state, which every clone copies.
	credFile string
}

func newGCPSvc() (*gcpSvc, error) {
	fx, err := sharedFixture()
	if err != nil {
		return nil, err
	}
	// 1024-bit keys: an RSA key is made for every create.
	emu := gcpemu.New(gcpemu.Options{KeyBits: 1024, Now: func() time.Time { return start }})
	emu.SetURL(gcpURL)
	_, file, err := emu.SeedKey(gcpManager, start.Add(-time.Hour), time.Time{})
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(fx.dir, "gcp-management-*.json")
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(file); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &gcpSvc{emu: emu, credFile: filepath.Clean(f.Name())}, nil
}

func (s *gcpSvc) name() string            { return "gcpkey" }
func (s *gcpSvc) handler() http.Handler   { return s.emu }
func (s *gcpSvc) now() time.Time          { return s.emu.Now() }
func (s *gcpSvc) advance(d time.Duration) { s.emu.Advance(d) }
func (s *gcpSvc) clone() service          { return &gcpSvc{emu: s.emu.Clone(), credFile: s.credFile} }
func (s *gcpSvc) waitsPass() bool         { return true }
func (s *gcpSvc) accepts(clientID, value string) bool {
	return s.emu.Accepts(clientID, value)
}

func (s *gcpSvc) seed(i int, expiresIn time.Duration) (seeded, error) {
	email := fmt.Sprintf("app-%d@model-project.iam.gserviceaccount.com", i)
	k := seeded{key: credential.ProviderKey(fmt.Sprintf("gcpkey.sa_%d", i)), clientID: email, dataKey: "key.json"}
	created := s.now().Add(expiresIn - gcpMaxKeyAge).Truncate(time.Second)
	id, file, err := s.emu.SeedKey(email, created, time.Time{})
	k.secretID, k.value, k.expiresAt = id, string(file), created.Add(gcpMaxKeyAge)
	return k, err
}

func (s *gcpSvc) info(clientID string, _ []string) provider.ClientInfo {
	out := provider.ClientInfo{ClientID: clientID}
	now := s.now()
	for _, k := range s.emu.Keys(clientID) {
		st := provider.StatusActive
		switch {
		case k.Deleted:
			st = provider.StatusRevoked
		case k.Disabled:
			st = provider.StatusInactive
		case !now.Before(k.ValidBefore):
			st = provider.StatusExpired
		}
		out.Secrets = append(out.Secrets, provider.SecretInfo{SecretID: k.ID, Status: st, CreatedAt: k.ValidAfter, ExpiresAt: k.ValidBefore})
	}
	return out
}

func (s *gcpSvc) client(rt http.RoundTripper, _ *logrus.Entry, now func() time.Time) (rotate.Provider, error) {
	return gcpkey.New(context.Background(), gcpkey.Options{
		Endpoint: gcpURL + "/", TokenURL: gcpURL + "/token", CredentialsFile: s.credFile, MaxKeyAge: gcpMaxKeyAge,
		HTTPClient: &http.Client{Transport: rt}, Timeout: 10 * time.Second, Now: now,
	})
}

func (s *gcpSvc) opName(req *http.Request) string {
	p := req.URL.Path
	switch {
	case p == "/token":
		return "token"
	case strings.HasSuffix(p, ":disable"):
		return "disable"
	case strings.HasSuffix(p, ":enable"):
		return "enable"
	case req.Method == http.MethodDelete:
		return "delete"
	case req.Method == http.MethodPost:
		return "create"
	case req.Method == http.MethodGet:
		return "describe"
	}
	return req.Method + " " + p
}
