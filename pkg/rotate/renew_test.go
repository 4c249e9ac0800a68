package rotate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/provider"
)

// TestRenewNextTellsTheTruth: once a renew may have minted, the alert says
// the deployed secret is on its grace period and until when; only an answer
// that says nothing was done (429, 503) says the secret is untouched.
func TestRenewNextTellsTheTruth(t *testing.T) {
	t.Parallel()
	r := &Runner{Now: func() time.Time { return t0 }, Settings: Settings{GracePeriod: 14 * day}}
	kp := KeyPlan{Key: "k", InUseSecretID: "s-old", InUseValidUntil: t0.Add(30 * day)}
	grace := t0.Add(14 * day).Format(time.RFC3339)
	for _, tc := range []struct {
		err      error
		step     Step
		want     string
		deadline time.Time
	}{
		{&equifax.Error{Op: "renew", Kind: equifax.ErrTransient, HTTPStatus: 504}, StepRenew, "may have been minted", t0.Add(14 * day)},
		{&equifax.Error{Op: "renew", Kind: equifax.ErrTransient, HTTPStatus: 500}, StepRenew, "grace period until " + grace, t0.Add(14 * day)},
		{&equifax.Error{Op: "renew", Kind: equifax.ErrTransient}, StepRenew, "may have been minted", t0.Add(14 * day)},
		{&equifax.Error{Op: "renew", Kind: equifax.ErrMalformedResponse, HTTPStatus: 200}, StepRenew, "may have been minted", t0.Add(14 * day)},
		{&equifax.Error{Op: "renew", Kind: equifax.ErrTransient, HTTPStatus: 503}, StepRenew, "nothing was minted", t0.Add(30 * day)},
		{&equifax.Error{Op: "renew", Kind: equifax.ErrRateLimited, HTTPStatus: 429}, StepRenew, "untouched", t0.Add(30 * day)},
		{fmt.Errorf("%w within 30s", errUnproven), StepVerify, "was revoked; nothing was sealed", t0.Add(14 * day)},
	} {
		next, deadline := r.renewNext(equifax.AsProvider(nil, ""), kp, tc.step, tc.err)
		if !strings.Contains(next, tc.want) || !deadline.Equal(tc.deadline) {
			t.Errorf("%v: %q (deadline %s), want %q and %s", tc.err, next, deadline, tc.want, tc.deadline)
		}
	}
}

// rulesOnly is a provider that only has rules, for the texts that depend on
// them.
type rulesOnly struct {
	Provider
	name  string
	rules provider.Rules
}

func (p rulesOnly) Name() string          { return p.name }
func (p rulesOnly) Rules() provider.Rules { return p.rules }

// A service that keeps the old secret valid (no grace period) and cannot
// replay a create: the deadline is the deployed secret's own validity, and
// the texts say the orphan is revoked, not recovered.
func TestRenewNextFollowsTheProvidersRules(t *testing.T) {
	t.Parallel()
	r := &Runner{Now: func() time.Time { return t0 }, Settings: Settings{GracePeriod: 14 * day}}
	kp := KeyPlan{Key: "k", InUseSecretID: "s-old", InUseValidUntil: t0.Add(30 * day)}
	p := rulesOnly{name: "entra", rules: provider.Rules{Revocation: provider.RevokeOneStep, Propagation: time.Minute}}
	for _, tc := range []struct {
		err  error
		step Step
		want string
	}{
		{&provider.Error{Provider: "entra", Op: "create", Kind: provider.ErrTransient}, StepRenew, "revokes it (its value is lost) and renews again"},
		{&provider.Error{Provider: "entra", Op: "verify", Kind: provider.ErrUnauthorized}, StepVerify, "stays valid until"},
		{fmt.Errorf("%w within 30s", errUnproven), StepVerify, "contact Entra ID"},
		// Graph's (or Okta's, or Google's) 503 refused the create: nothing
		// was minted.
		{&provider.Error{Provider: "entra", Op: "create", Kind: provider.ErrTransient, HTTPStatus: 503}, StepRenew, "refused the renew, so nothing was minted"},
		{&provider.Error{Provider: "entra", Op: "create", Kind: provider.ErrTransient, HTTPStatus: 500}, StepRenew, "may have been minted"},
	} {
		next, deadline := r.renewNext(p, kp, tc.step, tc.err)
		if !strings.Contains(next, tc.want) || !deadline.Equal(kp.InUseValidUntil) {
			t.Errorf("%v: %q (deadline %s), want %q and %s", tc.err, next, deadline, tc.want, kp.InUseValidUntil)
		}
		if strings.Contains(next, "grace period") || strings.Contains(next, "Equifax") {
			t.Errorf("%v: %q speaks of Equifax's grace period", tc.err, next)
		}
	}
	if got := r.proofTimeout(p); got != time.Minute {
		t.Errorf("the proof timeout is %s, not the provider's propagation delay of 1m", got)
	}
	if got := r.proofTimeout(equifax.AsProvider(nil, "")); got != DefaultProofTimeout {
		t.Errorf("the proof timeout for Equifax is %s, not %s", got, DefaultProofTimeout)
	}
}
