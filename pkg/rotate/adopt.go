package rotate

import (
	"context"
	"fmt"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// ActionAdopt brings an existing secret under credrotate.
const ActionAdopt Action = "adopt"

// StaticSecret is a SecretReader over a value already in hand (adopt reads
// it from stdin).
type StaticSecret struct {
	Value credential.Secret
	Name  string
}

// Read implements SecretReader.
func (s StaticSecret) Read(context.Context) (credential.Secret, error) { return s.Value, nil }

// Describe implements SecretReader.
func (s StaticSecret) Describe() string { return s.Name }

// AdoptOptions say what Adopt brings under credrotate.
type AdoptOptions struct {
	// Key is the provider key adopted.
	Key credential.ProviderKey
	// SecretID picks which of the client's valid secrets the adopted value
	// is; "" means the ACTIVE one (which must then be the only valid one).
	SecretID string
}

// Adopt seals a secret a person already has into every environment, with
// its Equifax metadata, and proposes it in a pull request of its own. It is
// AdoptWith for one key.
func (r *Runner) Adopt(ctx context.Context, obs *Observation, key credential.ProviderKey, secretID string) *Report {
	return r.AdoptWith(ctx, obs, AdoptOptions{Key: key, SecretID: secretID})
}

// AdoptWith seals a secret a person already has into every environment,
// with its Equifax metadata, and proposes it in a pull request of its own
// (whatever the run's grouping). The secret is proven with a token first.
// Preflight must have run with the key's current secret reading the adopted
// value. The runner's settings are not changed.
func (r *Runner) AdoptWith(ctx context.Context, obs *Observation, opts AdoptOptions) *Report {
	key, secretID := opts.Key, opts.SecretID
	rep := &Report{TraceID: r.TraceID, MockSafe: r.Settings.MockSafe}
	kr := KeyResult{Key: key, Action: ActionAdopt}
	fail := func(step string, err error, next string) *Report {
		kr.Outcome, kr.Step, kr.Error, kr.Next = OutcomeFailed, step, err.Error(), next
		rep.Results = append(rep.Results, kr)
		return rep
	}
	spec, ok := obs.specs[key]
	if !ok {
		return fail("adopt", fmt.Errorf("provider key %s was not part of preflight", key), "name a configured provider key")
	}
	ko := &obs.Keys[obs.index[key]]
	if ko.DescribeErr != nil {
		return fail(string(StepDescribe), ko.DescribeErr, ko.DescribeNext)
	}
	value := obs.current[key]
	if err := spec.Provider.Verify(ctx, equifax.Credentials{ClientID: spec.ClientID, ClientSecret: value}, value); err != nil {
		return fail("verify", fmt.Errorf("the secret does not obtain a token for client %s: %w", spec.ClientID, err), "check that the secret belongs to client "+spec.ClientID+" and is still valid")
	}
	var info equifax.SecretInfo
	if secretID == "" {
		active, ok := ko.Client.Active()
		if !ok {
			return fail("describe", fmt.Errorf("client %s has no ACTIVE secret", spec.ClientID), "pass --secret-id with the id of the secret you adopt")
		}
		if ko.Client.ValidCount() > 1 {
			return fail("describe", fmt.Errorf("client %s has %d valid secrets, so which one this is cannot be told", spec.ClientID, ko.Client.ValidCount()), "pass --secret-id with the id of the secret you adopt")
		}
		info = active
	} else {
		s, ok := ko.Client.Find(secretID)
		if !ok || !s.Status.Valid() {
			return fail("describe", fmt.Errorf("client %s has no valid secret %s", spec.ClientID, secretID), "check the secret id in the Equifax portal")
		}
		info = s
	}
	kp := KeyPlan{Key: key, ClientID: spec.ClientID, Action: ActionAdopt, Reason: "adopted by hand", CurrentSecretID: info.SecretID}
	pr, err := r.propose(ctx, obs, []renewed{{spec: spec, plan: kp, result: equifax.RenewResult{ClientID: spec.ClientID, Secret: info, ClientSecret: value}}}, true)
	if err == nil {
		if lerr := r.land(ctx, &pr); lerr != nil {
			r.Log.WithError(lerr).WithField("pr", pr.URL).Warn("auto-merge could not be enabled; the pull request waits for a person")
		}
	}
	kr.SecretID, kr.Fingerprint, kr.ExpiresAt = info.SecretID, value.Fingerprint(), info.ExpiresAt
	if err != nil {
		return fail("propose", err, "nothing changed at Equifax; fix the problem and run adopt again")
	}
	kr.Outcome, kr.PRURL, kr.Reason = OutcomeProposed, pr.URL, kp.Reason
	rep.Results = append(rep.Results, kr)
	rep.PullRequests = append(rep.PullRequests, pr.URL)
	r.alerts(ctx, rep)
	return rep
}
