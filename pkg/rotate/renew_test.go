package rotate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
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
		next, deadline := r.renewNext(kp, tc.step, tc.err)
		if !strings.Contains(next, tc.want) || !deadline.Equal(tc.deadline) {
			t.Errorf("%v: %q (deadline %s), want %q and %s", tc.err, next, deadline, tc.want, tc.deadline)
		}
	}
}
